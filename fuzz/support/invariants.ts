import type { Connection } from "../../src/connection.js";
import { TLSError } from "../../src/errors.js";

/** A broken invariant: what the fuzzer reports as a crash. */
export class InvariantError extends Error {
  override readonly name = "InvariantError";
}

export function check(cond: boolean, message: string): asserts cond {
  if (!cond) throw new InvariantError(message);
}

/**
 * Runs a decoder. A TLSError is the expected way to refuse input; anything else (TypeError,
 * RangeError, ...) propagates and is a crash. Returns undefined when the input was refused.
 */
export function decodes<T>(fn: () => T): T | undefined {
  try {
    return fn();
  } catch (e) {
    if (e instanceof TLSError) return undefined;
    throw e;
  }
}

/** What a connection reported; see checkConnection. */
export interface Watched {
  errors: unknown[];
  closes: number;
}

export function watch(conn: Connection): Watched {
  const w: Watched = { errors: [], closes: 0 };
  conn.on("error", (e) => w.errors.push(e));
  conn.on("close", () => w.closes++);
  return w;
}

/**
 * The Connection contract: receive() never throws (a throw escapes to the fuzzer as a crash);
 * after a failure there was exactly one error event, a TLSError, the connection is closed and
 * stays closed (more input changes nothing), and close fired once. A TLSError that wraps another
 * exception (the guard's internal_error with a cause) is a bug that the guard only contained.
 */
export function checkConnection(conn: Connection, w: Watched, again: Uint8Array): void {
  check(w.errors.length <= 1, `${w.errors.length} error events`);
  const err = w.errors[0];
  if (err === undefined) {
    check(conn.error === null, "connection.error set without an error event");
    const closes = conn.connectionState === "closed" ? 1 : 0;
    check(w.closes === closes, `${w.closes} close events in state ${conn.connectionState}`);
    return;
  }
  check(err instanceof TLSError, `error event with ${String(err)}`);
  const cause = (err as { cause?: unknown }).cause;
  if (cause instanceof Error) {
    // Surface the original exception (its stack is what needs fixing).
    throw cause;
  }
  check(conn.connectionState === "closed", `state ${conn.connectionState} after an error`);
  check(conn.error === err, "connection.error is not the reported error");
  check(w.closes === 1, `${w.closes} close events after an error`);
  conn.receive(again);
  check(w.errors.length === 1 && w.closes === 1, "events after the connection was closed");
}
