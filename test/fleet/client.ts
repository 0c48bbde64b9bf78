/**
 * Our library's client for the fleet tests: one connection that sends an HTTP request (answered by
 * a `--www` server, or by the in-process test servers), reads until the server closes, and keeps
 * the sessions it is given. Test material only.
 */
import { type ConnectOptions, connect, type HandshakeInfo, type TLSSession } from "../../src/index.js";

export interface Visit {
  info: HandshakeInfo;
  sessions: TLSSession[];
  /** What the server sent (the --www page). */
  body: string;
  ms: number;
}

/** Connects, sends `GET / HTTP/1.0`, waits for the server to close (bounded by `ms`). */
export function visit(opts: ConnectOptions, ms = 10_000): Promise<Visit> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const sock = connect({ host: "127.0.0.1", servername: "localhost", handshakeTimeout: ms, ...opts });
    const sessions: TLSSession[] = [];
    let body = "";
    let info: HandshakeInfo | undefined;
    let settled = false;
    const timer = setTimeout(() => fail(new Error(`timeout (${ms} ms) talking to port ${opts.port}`)), ms);
    const fail = (e: unknown): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      sock.destroy();
      reject(e);
    };
    sock.on("session", (s: TLSSession) => sessions.push(s));
    sock.on("secureConnect", () => {
      info = sock.info ?? undefined;
      sock.write("GET / HTTP/1.0\r\n\r\n");
    });
    sock.on("data", (d: Buffer) => {
      body += d.toString("utf8");
    });
    sock.on("error", fail);
    sock.on("end", () => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      sock.end();
      if (!info) return reject(new Error("closed before the handshake completed"));
      // A TLS 1.3 ticket sent with the page has been parsed by now (it precedes the close_notify).
      resolve({ info, sessions, body, ms: performance.now() - t0 });
    });
    sock.on("close", () => fail(new Error(`closed without close_notify; received: ${JSON.stringify(body)}`)));
  });
}

/** The last session received, asserting there is one. */
export function lastSession(v: Visit): TLSSession {
  const s = v.sessions.at(-1);
  if (!s) throw new Error("no 'session' event on this connection");
  return s;
}

/** Polls `cond` every 50 ms until it holds; throws after `ms`. */
export async function until(cond: () => boolean | Promise<boolean>, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    if (await cond()) return;
    if (Date.now() > end) throw new Error(`timeout (${ms} ms) waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
