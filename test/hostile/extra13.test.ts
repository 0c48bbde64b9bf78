import assert from "node:assert/strict";
import { test } from "node:test";
import { AlertDescription as A } from "../../src/alert.js";
import { ClientConfig } from "../../src/config.js";
import { ClientConnection } from "../../src/connection.js";
import type { TLSSession } from "../../src/session/client-session.js";
import { demo, pair, pump } from "../unit/pair.js";
import { type Bytes, cat, hs, record, text, u8, u16, u32, vec8, vec16, zeros } from "./bytes.js";
import { add, set } from "./cases.js";
import { Server13 } from "./script13.js";
import { hostileClient13, hostileServer13, serverConfig } from "./setup.js";
import { Victim, Wire } from "./wire.js";

/** TLS 1.3 resumption, 0-RTT, cookies and ALPN under attack (RFC 8446 §4.2.2, §4.2.10, §4.2.11; RFC 7301). */

type H = ReturnType<typeof hostileClient13>;

/** A real ticket from our server, read by the script after a full handshake. */
function ticket(): { identity: Bytes; ageAdd: number } {
  const h = hostileClient13();
  h.v.send(h.wire.plain(22, h.c.hello({ exts: add([45, vec8(u8(1))]) })));
  h.c.readServerHello();
  h.c.readServerFlight();
  h.v.send(h.wire.rec(22, h.c.finished()));
  const nst = h.wire.next(4);
  const b = nst.subarray(4);
  const ageAdd = ((b[4]! << 24) | (b[5]! << 16) | (b[6]! << 8) | b[7]!) >>> 0;
  const nonceLen = b[8]!;
  const at = 9 + nonceLen;
  const len = (b[at]! << 8) | b[at + 1]!;
  return { identity: b.slice(at + 2, at + 2 + len), ageAdd };
}

/** OfferedPsks with one identity and the given binder bytes (the binder list as written). */
const psk = (identity: Bytes, obfuscatedAge: number, binders: Bytes) =>
  cat(vec16(cat(vec16(identity), u32(obfuscatedAge))), binders);
const withPsk = (h: H, ext41: Bytes) =>
  h.v.send(h.wire.plain(22, h.c.hello({ exts: add([45, vec8(u8(1))], [41, ext41]) })));

test("1.3 server: a real ticket with a forged binder -> decrypt_error (§4.2.11)", () => {
  const t = ticket();
  const h = hostileClient13();
  withPsk(h, psk(t.identity, t.ageAdd, vec16(vec8(zeros(32)))));
  h.v.expectFatal(A.decrypt_error);
});

test("1.3 server: a binder shorter than 32 bytes -> decode_error (PskBinderEntry<32..255>)", () => {
  const t = ticket();
  const h = hostileClient13();
  withPsk(h, psk(t.identity, t.ageAdd, vec16(vec8(zeros(31)))));
  h.v.expectFatal(A.decode_error);
});

test("1.3 server: an empty identity -> decode_error (PskIdentity.identity<1..2^16-1>)", () => {
  const h = hostileClient13();
  withPsk(h, psk(new Uint8Array(0), 0, vec16(vec8(zeros(32)))));
  h.v.expectFatal(A.decode_error);
});

test("1.3 server: an empty identities list -> decode_error (identities<7..2^16-1>)", () => {
  const h = hostileClient13();
  withPsk(h, cat(vec16(), vec16(vec8(zeros(32)))));
  h.v.expectFatal(A.decode_error);
});

test("1.3 server: an unknown ticket means a full handshake, not an error", () => {
  const h = hostileClient13();
  withPsk(h, psk(text("no such ticket at all"), 1234, vec16(vec8(zeros(32)))));
  const sh = h.c.readServerHello();
  h.c.readServerFlight();
  h.v.send(h.wire.rec(22, h.c.finished()));
  h.v.expectAlive();
  assert.equal(h.v.handshakes, 1);
  assert.ok(!Buffer.from(sh).includes(Buffer.from([0, 41, 0, 2])), "no pre_shared_key in the ServerHello");
});

test("1.3 server: rejected 0-RTT is skipped up to its budget, then unexpected_message (§4.2.10)", () => {
  const h = hostileClient13();
  h.v.send(h.wire.plain(22, h.c.hello({ exts: add([42, new Uint8Array(0)]) })));
  h.c.readServerHello();
  h.c.readServerFlight();
  // Early data under keys the server does not have (no PSK was accepted).
  for (let i = 0; i < 10 && h.v.errors.length === 0; i++) h.v.send(record(23, zeros(16384)));
  h.v.expectFatal(A.unexpected_message);
});

test("1.3 server: a little rejected 0-RTT is skipped and the handshake completes", () => {
  const h = hostileClient13();
  h.v.send(h.wire.plain(22, h.c.hello({ exts: add([42, new Uint8Array(0)]) })));
  h.c.readServerHello();
  h.c.readServerFlight();
  h.v.send(record(23, zeros(100)), record(23, zeros(200)));
  h.v.send(h.wire.rec(22, h.c.finished()));
  h.v.expectAlive();
  assert.equal(h.v.handshakes, 1);
});

// ---- the client side ------------------------------------------------------------------------------

function realSession(): TLSSession {
  const { c, s } = pair();
  let got: TLSSession | undefined;
  c.on("session", (x) => {
    got = x;
  });
  pump(c, s);
  assert.ok(got, "a session ticket from the real server");
  return got;
}

test("1.3 client: the server selecting a PSK identity we did not offer -> illegal_parameter (§4.2.11)", () => {
  const wire = new Wire(true);
  const v = new Victim(
    new ClientConnection(new ClientConfig({ ca: demo.ca }), {
      serverName: "localhost",
      session: realSession(),
    }),
    wire,
  );
  v.pull();
  const s = new Server13(wire, serverConfig);
  s.readHello();
  assert.ok(
    s.clientExts.some(([t]) => t === 41),
    "the client offered its ticket",
  );
  v.send(wire.plain(22, s.serverHello({ exts: add([41, u16(5)]) })));
  v.expectFatal(A.illegal_parameter);
});

test("1.3 client: early_data in EncryptedExtensions without offering it -> unsupported_extension", () => {
  const h = hostileServer13();
  h.s.readHello();
  const sh = h.s.serverHello();
  h.s.handshakeKeys();
  h.v.send(h.wire.plain(22, sh), h.wire.rec(22, h.s.encryptedExtensions([[42, new Uint8Array(0)]])));
  h.v.expectFatal(A.unsupported_extension);
});

test("1.3 client echoes an HRR cookie in its second ClientHello (§4.2.2)", () => {
  const h = hostileServer13();
  h.s.readHello();
  const cookie = text("opaque server state");
  h.v.send(h.wire.plain(22, h.s.helloRetry(0x0017, [[44, vec16(cookie)]])));
  h.v.expectAlive();
  const ch2 = h.wire.next(1);
  assert.ok(Buffer.from(ch2).includes(Buffer.from(cat(u16(44), u16(cookie.length + 2), vec16(cookie)))));
});

test("1.3 client: an ALPN answer with two protocols, or one not offered -> illegal_parameter (RFC 7301 §3.1)", () => {
  for (const names of [["h2", "http/1.1"], ["spdy/3"]]) {
    const h = hostileServer13({ alpnProtocols: ["h2", "http/1.1"] });
    h.s.readHello();
    const sh = h.s.serverHello();
    h.s.handshakeKeys();
    const ee = h.s.encryptedExtensions([[16, vec16(...names.map((n) => vec8(text(n))))]]);
    h.v.send(h.wire.plain(22, sh), h.wire.rec(22, ee));
    h.v.expectFatal(A.illegal_parameter);
  }
});

test("1.3 server: legacy_version 0x0304 is ignored when supported_versions is present (§4.2.1)", () => {
  const h = hostileClient13();
  h.v.send(h.wire.plain(22, h.c.hello({ legacyVersion: 0x0304 })));
  h.c.readServerHello();
  h.c.readServerFlight();
  h.v.send(h.wire.rec(22, h.c.finished()));
  h.v.expectAlive();
  assert.equal(h.v.conn.protocol, "TLSv1.3");
});

test("1.3 server: supported_versions with TLS 1.3 after unknown and GREASE versions still picks 1.3", () => {
  const h = hostileClient13();
  h.v.send(
    h.wire.plain(22, h.c.hello({ exts: set(43, vec8(u16(0x7f7f), u16(0x0a0a), u16(0x0305), u16(0x0304))) })),
  );
  h.c.readServerHello();
  h.c.readServerFlight();
  h.v.send(h.wire.rec(22, h.c.finished()));
  h.v.expectAlive();
  assert.equal(h.v.conn.protocol, "TLSv1.3");
});

void hs;
