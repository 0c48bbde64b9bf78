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
  // Listeners that make the connection compute more (trace fields, key log lines).
  conn.on("trace", () => {});
  conn.on("keylog", () => {});
  return w;
}

/**
 * The Connection contract: receive() never throws (a throw escapes to the fuzzer as a crash);
 * after a failure there was exactly one error event, a TLSError, the connection is closed and
 * stays closed (more input changes nothing), and close fired once. A TLSError that wraps another
 * exception (the guard's internal_error with a cause) is a bug that the guard only contained.
 * A failure detected locally ends with that fatal alert as the last record sent (`sent`: what
 * takeOutgoing() returned after the input).
 */
export function checkConnection(conn: Connection, w: Watched, again: Uint8Array, sent: Uint8Array): void {
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
  if (err.sentBy === "local") {
    const alert = lastAlert(sent);
    check(
      alert === err.alert,
      `failed with ${err.alertName} but the last record sent is not that alert (${alert})`,
    );
  }
  conn.receive(again);
  check(w.errors.length === 1 && w.closes === 1, "events after the connection was closed");
}

/**
 * The description of the alert in the last record of `bytes`, under the transparent crypto
 * (./transparent-crypto.ts): a plaintext alert, a TLS 1.2 "protected" one (8-byte explicit nonce,
 * 16-byte zero tag) or a TLS 1.3 one (inner content type 21 before the tag); undefined otherwise.
 */
export function lastAlert(bytes: Uint8Array): number | undefined {
  let last: Uint8Array | undefined;
  let type = 0;
  for (let o = 0; o + 5 <= bytes.length; ) {
    const len = (bytes[o + 3]! << 8) | bytes[o + 4]!;
    type = bytes[o]!;
    last = bytes.subarray(o + 5, o + 5 + len);
    o += 5 + len;
  }
  if (last === undefined) return undefined;
  if (type === 21 && last.length === 2) return last[1];
  if (type === 21 && last.length === 8 + 2 + 16) return last[9];
  if (type === 23 && last.length === 2 + 1 + 16 && last[2] === 21) return last[1];
  return undefined;
}
