import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ClientConfig, ServerConfig, type ServerOptions } from "../../src/config.js";
import { ClientConnection, ServerConnection } from "../../src/connection.js";
import type { TLSSession } from "../../src/session/client-session.js";
import { demo, pump } from "./pair.js";

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

function firstTicket(cc: ClientConfig, sc: ServerConfig): TLSSession {
  const c = new ClientConnection(cc, { serverName: "localhost" });
  const s = new ServerConnection(sc);
  let t: TLSSession | undefined;
  c.on("session", (x) => {
    t = x;
  });
  pump(c, s);
  assert.ok(t, "a ticket");
  return t;
}

function withEarly(cc: ClientConfig, sc: ServerConfig, session: TLSSession, early: string) {
  const c = new ClientConnection(cc, { serverName: "localhost", session, earlyData: enc(early) });
  const s = new ServerConnection(sc);
  const got = { early: "", data: "", errors: [] as Error[] };
  s.on("earlyData", (d) => {
    got.early += dec(d);
  });
  s.on("data", (d) => {
    got.data += dec(d);
  });
  c.on("error", (e) => got.errors.push(e));
  s.on("error", (e) => got.errors.push(e));
  pump(c, s);
  return { c, s, got };
}

describe("TLS 1.3 0-RTT early data (RFC 8446 §4.2.10)", () => {
  const server = (o: Partial<ServerOptions> = {}) =>
    new ServerConfig({ cert: demo.cert, key: demo.key, maxEarlyData: 1024, ...o });
  const cc = new ClientConfig({ ca: demo.ca });

  test("accepted: the server reports it as early, before the handshake completes", () => {
    const sc = server();
    const t = firstTicket(cc, sc);
    assert.equal(t.state.maxEarlyData, 1024);
    const r = withEarly(cc, sc, t, "GET /early");
    assert.deepEqual(r.got.errors, []);
    assert.equal(r.got.early, "GET /early");
    assert.equal(r.got.data, "");
    assert.equal(r.c.info?.earlyData, "accepted");
    assert.equal(r.s.info?.earlyData, "accepted");
    assert.equal(r.c.info?.resumed, true);
  });

  test("replay: the same ticket's early data is refused the second time, and sent again as ordinary data", () => {
    const sc = server();
    const t = firstTicket(cc, sc);
    withEarly(cc, sc, t, "once");
    const again = withEarly(cc, sc, t, "twice");
    assert.deepEqual(again.got.errors, []);
    assert.equal(again.got.early, "", "not early");
    assert.equal(again.got.data, "twice", "resent after the handshake");
    assert.equal(again.c.info?.earlyData, "rejected");
  });

  test("off by default; too much for the ticket is not sent early", () => {
    const plain = new ServerConfig({ cert: demo.cert, key: demo.key });
    const t0 = firstTicket(cc, plain);
    assert.equal(t0.state.maxEarlyData, 0);
    const r0 = withEarly(cc, plain, t0, "hello");
    assert.equal(r0.got.early, "");
    assert.equal(r0.got.data, "hello");
    assert.equal(r0.c.info?.earlyData, undefined, "not even offered");
    const sc = server({ maxEarlyData: 4 });
    const t = firstTicket(cc, sc);
    const big = withEarly(cc, sc, t, "more than four bytes");
    assert.deepEqual(big.got.errors, []);
    assert.equal(big.got.early, "");
    assert.equal(big.got.data, "more than four bytes");
  });

  test("a server that turned 0-RTT off since: rejected, skipped, resent", () => {
    const on = server();
    const t = firstTicket(cc, on);
    const off = new ServerConfig({ cert: demo.cert, key: demo.key, ticketKeys: on.ticketKeys });
    const r = withEarly(cc, off, t, "late");
    assert.deepEqual(r.got.errors, []);
    assert.equal(r.c.info?.resumed, true);
    assert.equal(r.c.info?.earlyData, "rejected");
    assert.equal(r.got.data, "late");
  });

  test("after a HelloRetryRequest the early data is refused and sent again", () => {
    const ccHrr = new ClientConfig({ ca: demo.ca, groups: ["X25519", "P-384"] });
    const first = server();
    const t = firstTicket(ccHrr, first);
    const hrr = server({ groups: ["P-384"], ticketKeys: first.ticketKeys });
    const r = withEarly(ccHrr, hrr, t, "after retry");
    assert.deepEqual(r.got.errors, []);
    assert.equal(r.c.info?.helloRetry, true);
    assert.equal(r.c.info?.earlyData, "rejected");
    assert.equal(r.got.data, "after retry");
  });
});
