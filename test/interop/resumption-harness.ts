/**
 * Helpers for the resumption interop cells (test/interop/resumption.test.ts): our server's n-th
 * connection, one observed connection of our client that keeps the sessions it is given, crafted
 * sessions, and openssl s_client runs. Test material only; builds on harness.ts and peers.ts.
 */
import assert from "node:assert/strict";
import { existsSync, statSync } from "node:fs";
import type { ConnectOptions, CreateServerOptions, TraceEvent } from "../../src/index.js";
import { TLSSession } from "../../src/index.js";
import type { SessionState } from "../../src/session/session.js";
import {
  type Describable,
  lineEcho,
  type Observer,
  type OurServer,
  ourClient,
  ourServer,
  STEP,
} from "./harness.js";
import { PeerProcess, spawnPeer } from "./peers.js";

export const LINE = "resume me";

/** Everything a cell started (servers, peers, our clients), for its failure message; filled as it goes. */
export class Diag implements Describable {
  private readonly items: Describable[] = [];
  private readonly peers: PeerProcess[] = [];
  add<T extends Describable>(x: T): T {
    this.items.push(x);
    if (x instanceof PeerProcess) this.peers.push(x);
    return x;
  }
  /** Kills every peer process added (safe for ones that already exited). */
  async stop(): Promise<void> {
    await Promise.all(this.peers.map((p) => p.kill(500)));
  }
  async settle(ms: number): Promise<void> {
    await Promise.all(this.items.map((x) => x.settle?.(ms)));
  }
  transcript(): string {
    return this.items.map((x) => x.transcript()).join("\n");
  }
}

/** Our server on an ephemeral port; every connection answers one line with `echo:<line>` and closes. */
export async function echoServer(opts: CreateServerOptions): Promise<OurServer> {
  const s = await ourServer(opts);
  s.onConnection = (o) => lineEcho(o, true);
  return s;
}

/** Our server's n-th accepted connection (0-based) once its handshake completed or it failed. */
export function connAt(server: OurServer, n: number, ms = STEP): Promise<Observer> {
  return new Promise((resolve, reject) => {
    const check = (): void => {
      const o = server.conns[n];
      if (o && (o.info || o.errors.length > 0 || o.closed)) {
        done();
        resolve(o);
      }
    };
    const timer = setTimeout(() => {
      done();
      reject(new Error(`timeout (${ms} ms): our server's connection #${n + 1} did not complete`));
    }, ms);
    const done = (): void => {
      clearTimeout(timer);
      server.off("change", check);
    };
    server.on("change", check);
    check();
  });
}

/** What one connection of our client did, with the sessions it received and its ClientHello trace. */
export interface ClientRun {
  o: Observer;
  sessions: TLSSession[];
  /** The fields of the ClientHello we sent. */
  hello: TraceEvent["fields"] | undefined;
  /** The fields of the ServerHello we received. */
  serverHello: TraceEvent["fields"] | undefined;
}

/** Starts one observed connection of our client that records sessions and hello traces. */
export function startClient(opts: ConnectOptions, label: string, diag?: Diag): ClientRun {
  const o = ourClient(opts, label);
  diag?.add(o);
  const run: ClientRun = { o, sessions: [], hello: undefined, serverHello: undefined };
  o.sock.on("session", (s: TLSSession) => run.sessions.push(s));
  o.sock.on("trace", (t: TraceEvent) => {
    if (t.direction === "send" && t.message === "ClientHello") run.hello = t.fields;
    if (t.direction === "recv" && t.message === "ServerHello") run.serverHello = t.fields;
  });
  return run;
}

/**
 * One complete connection of our client: handshake, a line out, the peer's answer (`expect`) back,
 * our close_notify, closed. With `wantSession`, waits (after the answer) until a session arrived.
 */
export async function clientRun(
  opts: ConnectOptions,
  label: string,
  expect: (line: string) => string,
  diag: Diag,
  wantSession = true,
): Promise<ClientRun> {
  const run = startClient(opts, label, diag);
  try {
    await run.o.secure();
    run.o.sock.write(`${LINE}\n`);
    await run.o.receive(expect(LINE));
    if (wantSession) {
      await run.o.until(() => run.sessions.length > 0 || run.o.closed, STEP, "a session");
      assert.ok(run.sessions.length > 0, `${label}: no 'session' event`);
    }
    run.o.sock.end();
    await run.o.waitClosed();
    return run;
  } catch (e) {
    run.o.sock.destroy();
    throw e;
  }
}

/** A copy of a session with some fields of its state changed (the client's copy only: the ticket stays). */
export function craft(s: TLSSession, change: (st: SessionState) => void): TLSSession {
  const st: SessionState = structuredClone(s.state);
  change(st);
  return new TLSSession(st);
}

/** Flips one bit inside the sealed part of the ticket (after the 16-byte key name and 12-byte nonce). */
export function tamperTicket(s: TLSSession): TLSSession {
  return craft(s, (st) => {
    assert.ok(st.ticket.length > 40, "the session has a ticket");
    st.ticket[40]! ^= 0x10;
  });
}

/** `openssl s_client` against 127.0.0.1:port; LINE goes out on stdin (left open) at once. */
export function sClient(
  diag: Diag,
  port: number,
  caFile: string,
  args: readonly string[],
  servername = "localhost",
): PeerProcess {
  const proc = spawnPeer("openssl", [
    "s_client",
    "-connect",
    `127.0.0.1:${port}`,
    "-servername",
    servername,
    "-verify_hostname",
    servername,
    "-CAfile",
    caFile,
    "-verify_return_error",
    "-nocommands",
    ...args,
  ]);
  diag.add(proc);
  proc.write(`${LINE}\n`);
  return proc;
}

/** Runs s_client to the end (our server answers and closes): asserts exit 0, our answer and our close_notify. */
export async function sClientDone(proc: PeerProcess, ms = STEP): Promise<string> {
  const st = await proc.waitExit(ms);
  assert.equal(st.code, 0, "s_client exits 0");
  const out = proc.stdout;
  assert.ok(out.includes(`\necho:${LINE}\n`), "s_client received our answer");
  assert.match(out, /\nclosed\n/, "s_client saw our close_notify");
  return out;
}

/** s_client's "New, TLSv1.3, ..." / "Reused, TLSv1.2, ..." lines, in order. */
export function sClientSessions(out: string): string[] {
  return [...out.matchAll(/^(New|Reused), (TLSv1\.[23]),/gm)].map((m) => `${m[1]} ${m[2]}`);
}

/** Asserts that s_client wrote a non-empty -sess_out file. */
export function assertSessionFile(path: string): void {
  assert.ok(existsSync(path) && statSync(path).size > 0, `s_client wrote its session to ${path}`);
}
