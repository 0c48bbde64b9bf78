import assert from "node:assert/strict";
import { test } from "node:test";
import { AlertDescription as A } from "../../src/alert.js";
import { ClientConfig } from "../../src/config.js";
import { ClientConnection } from "../../src/connection.js";
import type { TLSSession } from "../../src/session/client-session.js";
import { demo, pair, pump } from "../unit/pair.js";
import { text, zeros } from "./bytes.js";
import { add, drop, set } from "./cases.js";
import { CCS, Server12 } from "./script12.js";
import { hostileClient12, serverConfig } from "./setup.js";
import { Victim, Wire } from "./wire.js";

/** TLS 1.2 resumption under attack (RFC 5246 §7.4.1.3, RFC 5077, RFC 7627 §5.3). */

function session12(sessionTickets: boolean): TLSSession {
  const { c, s } = pair({ maxVersion: "TLSv1.2", sessionTickets }, { sessionTickets });
  let got: TLSSession | undefined;
  c.on("session", (x) => {
    got = x;
  });
  pump(c, s);
  assert.ok(got, "a TLS 1.2 session from the real server");
  return got;
}

/** Our client offering a real session to the scripted server, which has read the ClientHello. */
function resuming(sessionTickets = false) {
  const wire = new Wire(false);
  const cfg = new ClientConfig({ ca: demo.ca, maxVersion: "TLSv1.2", sessionTickets });
  const v = new Victim(
    new ClientConnection(cfg, { serverName: "localhost", session: session12(sessionTickets) }),
    wire,
  );
  v.pull();
  const s = new Server12(wire, serverConfig);
  const ch = s.readHello();
  const sid = ch.slice(4 + 35, 4 + 35 + ch[4 + 34]!);
  assert.equal(sid.length, 32, "the client offers its session id");
  return { wire, v, s, sid };
}

test("1.2 client: a resumed session with another cipher suite -> illegal_parameter", () => {
  const { wire, v, s, sid } = resuming();
  v.send(wire.plain(22, s.serverHello({ sessionId: sid, suite: 0xc02c })));
  v.expectFatal(A.illegal_parameter);
});

test("1.2 client: a resumed session without extended_master_secret -> handshake_failure (RFC 7627 §5.3)", () => {
  const { wire, v, s, sid } = resuming();
  v.send(wire.plain(22, s.serverHello({ sessionId: sid, exts: drop(23) })));
  v.expectFatal(A.handshake_failure);
});

test("1.2 client: the echoed session id, then a full handshake's Certificate -> unexpected_message", () => {
  const { wire, v, s, sid } = resuming();
  v.send(wire.plain(22, s.serverHello({ sessionId: sid })), wire.plain(22, s.certificate()));
  v.expectFatal(A.unexpected_message);
});

test("1.2 client: a session ticket announced in a resumption but never sent -> unexpected_message (RFC 5077 §3.3)", () => {
  const { wire, v, s, sid } = resuming(true);
  v.send(wire.plain(22, s.serverHello({ sessionId: sid, exts: add([35, zeros(0)]) })), wire.plain(20, CCS));
  v.expectFatal(A.unexpected_message);
});

test("1.2 client: a new session id (not the offered one) is a full handshake", () => {
  const { wire, v, s } = resuming();
  v.send(
    wire.plain(22, s.serverHello({ sessionId: new Uint8Array(32).fill(9) })),
    wire.plain(22, s.certificate()),
    wire.plain(22, s.serverKeyExchange()),
    wire.plain(22, s.serverHelloDone()),
  );
  s.readClientKeyExchange();
  s.readClientFinished();
  v.send(s.changeCipherSpec(), wire.rec(22, s.finished()));
  v.expectAlive();
  assert.equal(v.handshakes, 1);
});

test("1.2 server: a forged session ticket and an unknown session id mean a full handshake", () => {
  for (const o of [
    { exts: set(35, text("not a ticket we ever sealed, and longer than a header")) },
    { sessionId: new Uint8Array(32).fill(3) },
  ]) {
    const h = hostileClient12();
    h.v.send(h.wire.plain(22, h.c.hello(o)));
    h.c.readServerFlight();
    assert.ok(h.c.got.Certificate, "a full handshake");
    h.v.send(
      h.wire.plain(22, h.c.clientKeyExchange()),
      h.c.changeCipherSpec(),
      h.wire.rec(22, h.c.finished()),
    );
    h.c.readServerFinish();
    h.v.expectAlive();
    assert.equal(h.v.handshakes, 1);
  }
});
