import assert from "node:assert/strict";
import { test } from "node:test";
import { AlertDescription as A } from "../../src/alert.js";
import { cat, grease, hs, list16, mutate, record, text, u8, u16, vec8, vec16, zeros } from "./bytes.js";
import { add, chain, drop, dup, set, table } from "./cases.js";
import { CCS, ECDHE_ECDSA_AES128, ECDSA_P256, X25519 } from "./script12.js";
import { hostileClient12 } from "./setup.js";

/**
 * A hostile TLS 1.2 client against our ServerConnection. Alerts per RFC 5246 §7.2 and the
 * extension RFCs cited (RFC 7627, RFC 5746, RFC 8422, RFC 7301, RFC 7507, RFC 8701, RFC 7568).
 */

type H = ReturnType<typeof hostileClient12>;
const ch = (h: H, o: Parameters<H["c"]["hello"]>[0] = {}) => h.v.send(h.wire.plain(22, h.c.hello(o)));
/** The ClientHello sent and the server's flight read. */
function toCke(h: H): void {
  ch(h);
  h.c.readServerFlight();
}
/** ClientKeyExchange sent too: the server waits for ChangeCipherSpec. */
function toCcs(h: H): void {
  toCke(h);
  h.v.send(h.wire.plain(22, h.c.clientKeyExchange()));
}
/** ChangeCipherSpec sent too: the server waits for an encrypted Finished. */
function toFinished(h: H): void {
  toCcs(h);
  h.v.send(h.c.changeCipherSpec());
}
function established(h: H): void {
  toFinished(h);
  h.v.send(h.wire.rec(22, h.c.finished()));
  h.c.readServerFinish();
  h.v.expectAlive();
  assert.equal(h.v.handshakes, 1);
}
const flood = (h: H, n: number, make: () => Uint8Array) => {
  for (let i = 0; i < n && h.v.errors.length === 0; i++) h.v.send(make());
};

table("1.2 server, ClientHello", hostileClient12, [
  {
    name: "truncated",
    alert: A.decode_error,
    run: (h) => h.v.send(h.wire.plain(22, mutate.truncate(h.c.hello()))),
  },
  { name: "padded", alert: A.decode_error, run: (h) => h.v.send(h.wire.plain(22, mutate.pad(h.c.hello()))) },
  { name: "extensions block of one byte", alert: A.decode_error, run: (h) => ch(h, { extBlock: u8(0) }) },
  {
    name: "extensions block length overflows",
    alert: A.decode_error,
    run: (h) => ch(h, { extBlock: cat(u16(100), u16(23), u16(0)) }),
  },
  {
    name: "extension length overflows the block",
    alert: A.decode_error,
    run: (h) => ch(h, { extBlock: vec16(u16(23), u16(9)) }),
  },
  { name: "empty cipher_suites", alert: A.decode_error, run: (h) => ch(h, { suites: [] }) },
  { name: "empty compression_methods", alert: A.decode_error, run: (h) => ch(h, { compression: [] }) },
  { name: "empty supported_groups", alert: A.decode_error, run: (h) => ch(h, { exts: set(10, vec16()) }) },
  {
    name: "empty signature_algorithms",
    alert: A.decode_error,
    run: (h) => ch(h, { exts: set(13, vec16()) }),
  },
  { name: "empty ec_point_formats", alert: A.decode_error, run: (h) => ch(h, { exts: set(11, vec8()) }) },
  {
    name: "empty SNI host_name",
    alert: A.decode_error,
    run: (h) => ch(h, { exts: set(0, vec16(u8(0), vec16())) }),
  },
  {
    name: "empty ALPN protocol name",
    alert: A.decode_error,
    run: (h) => ch(h, { exts: add([16, vec16(vec8())]) }),
  },
  // RFC 7627 §5.1: the extension_data of extended_master_secret is empty.
  {
    name: "extended_master_secret with data",
    alert: A.decode_error,
    run: (h) => ch(h, { exts: set(23, u8(0)) }),
  },
  {
    name: "renegotiation_info length overflows",
    alert: A.decode_error,
    run: (h) => ch(h, { exts: set(0xff01, u8(5)) }),
  },
  // RFC 5246 §7.4.1.4: at most one extension of a type (no alert named: the block does not decode).
  { name: "duplicate signature_algorithms", alert: A.decode_error, run: (h) => ch(h, { exts: dup(13) }) },
  { name: "duplicate extended_master_secret", alert: A.decode_error, run: (h) => ch(h, { exts: dup(23) }) },
  // RFC 5246 §7.4.1.2: the null compression method MUST be offered.
  { name: "compression methods [1]", alert: A.illegal_parameter, run: (h) => ch(h, { compression: [1] }) },
  // RFC 5246 §7.4.1.3: "If no acceptable choices are presented, ... handshake failure".
  {
    name: "only unknown cipher suites",
    alert: A.handshake_failure,
    run: (h) => ch(h, { suites: [0x1234, grease(1)] }),
  },
  {
    name: "only TLS 1.3 suites",
    alert: A.handshake_failure,
    run: (h) => ch(h, { suites: [0x1301, 0x1302] }),
  },
  {
    name: "only RSA key transport (not enabled)",
    alert: A.handshake_failure,
    run: (h) => ch(h, { suites: [0x009c] }),
  },
  {
    name: "only unknown groups",
    alert: A.handshake_failure,
    run: (h) => ch(h, { exts: set(10, list16([0x7777, grease(2)])) }),
  },
  {
    name: "only unknown signature schemes",
    alert: A.handshake_failure,
    run: (h) => ch(h, { exts: set(13, list16([0x0777])) }),
  },
  // RFC 7627 §5.2 (we require extended_master_secret): handshake_failure.
  { name: "no extended_master_secret", alert: A.handshake_failure, run: (h) => ch(h, { exts: drop(23) }) },
  {
    name: "no extensions at all",
    alert: A.handshake_failure,
    run: (h) => ch(h, { extBlock: new Uint8Array(0) }),
  },
  // RFC 5746 §3.6: non-empty renegotiated_connection on an initial handshake -> handshake_failure.
  {
    name: "non-empty renegotiation_info",
    alert: A.handshake_failure,
    run: (h) => ch(h, { exts: set(0xff01, vec8(zeros(12))) }),
  },
  // RFC 8422 §5.1.2: no uncompressed point format -> illegal_parameter.
  {
    name: "ec_point_formats without uncompressed",
    alert: A.illegal_parameter,
    run: (h) => ch(h, { exts: set(11, vec8(u8(1))) }),
  },
  // RFC 7568: SSL 3.0; and TLS 1.0/1.1, which we do not do: protocol_version.
  {
    name: "SSLv3 ClientHello",
    alert: A.protocol_version,
    run: (h) => h.v.send(record(22, h.c.hello({ version: 0x0300 }), 0x0300)),
  },
  { name: "TLS 1.0 ClientHello", alert: A.protocol_version, run: (h) => ch(h, { version: 0x0301 }) },
  { name: "TLS 1.1 ClientHello", alert: A.protocol_version, run: (h) => ch(h, { version: 0x0302 }) },
  // RFC 7507 §3: TLS_FALLBACK_SCSV with a version below our highest -> inappropriate_fallback.
  {
    name: "TLS_FALLBACK_SCSV at TLS 1.2",
    alert: A.inappropriate_fallback,
    run: (h) => ch(h, { suites: [ECDHE_ECDSA_AES128, 0x5600] }),
  },
  {
    name: "supported_versions [TLS 1.2] with TLS_FALLBACK_SCSV",
    alert: A.inappropriate_fallback,
    run: (h) => ch(h, { suites: [ECDHE_ECDSA_AES128, 0x5600], exts: add([43, vec8(u16(0x0303))]) }),
  },
]);

// RFC 8446 §4.2.1 / RFC 5246 Appendix E.1: a ClientHello.version above ours, without
// supported_versions, negotiates the highest version we share: TLS 1.2, never a failure.
for (const version of [0x0304, 0x0305, 0x03ff, 0x0400, 0x7f7f, 0xffff]) {
  test(`1.2 server: version intolerance probe, legacy_version 0x${version.toString(16)} -> TLS 1.2`, () => {
    const h = hostileClient12();
    ch(h, { version });
    h.c.readServerFlight();
    const sh = h.c.got.ServerHello!;
    assert.equal((sh[4]! << 8) | sh[5]!, 0x0303);
    h.v.send(
      h.wire.plain(22, h.c.clientKeyExchange()),
      h.c.changeCipherSpec(),
      h.wire.rec(22, h.c.finished()),
    );
    h.c.readServerFinish();
    h.v.expectAlive();
    assert.equal(h.v.handshakes, 1);
    assert.equal(h.v.conn.protocol, "TLSv1.2");
  });
}

test("1.2 server ignores GREASE suites, extensions, groups and signature schemes (RFC 8701 §3)", () => {
  const h = hostileClient12();
  ch(h, {
    suites: [grease(0), ECDHE_ECDSA_AES128, grease(1)],
    exts: (d) => [
      [grease(2), zeros(0)],
      ...chain(
        set(10, list16([grease(3), X25519, 0x0017])),
        set(13, list16([grease(4), ECDSA_P256])),
        add([16, vec16(vec8(Uint8Array.of(0x2a, 0x2a)), vec8(text("http/1.1")))]),
        add([43, vec8(u16(grease(5)), u16(0x0303))]),
      )(d),
      [grease(6), u8(0)],
    ],
  });
  assert.deepEqual(
    h.v.errors.map((e) => e.message),
    [],
  );
  h.c.readServerFlight();
  const sh = h.c.got.ServerHello!;
  const sid = sh[38]!;
  assert.equal((sh[39 + sid]! << 8) | sh[40 + sid]!, ECDHE_ECDSA_AES128);
  assert.equal(h.c.serverGroup, X25519);
  h.v.send(h.wire.plain(22, h.c.clientKeyExchange()), h.c.changeCipherSpec(), h.wire.rec(22, h.c.finished()));
  h.c.readServerFinish();
  h.v.expectAlive();
  assert.equal(h.v.handshakes, 1);
});

test("1.2 server: ALPN without overlap -> no_application_protocol (RFC 7301 §3.2)", () => {
  const h = hostileClient12({ alpnProtocols: ["h2"] });
  ch(h, { exts: add([16, vec16(vec8(text("spdy/1")))]) });
  h.v.expectFatal(A.no_application_protocol);
});

table("1.2 server, ClientKeyExchange", hostileClient12, [
  {
    name: "truncated",
    alert: A.decode_error,
    run: (h) => {
      toCke(h);
      h.v.send(h.wire.plain(22, mutate.truncate(h.c.clientKeyExchange())));
    },
  },
  {
    name: "padded",
    alert: A.decode_error,
    run: (h) => {
      toCke(h);
      h.v.send(h.wire.plain(22, mutate.pad(h.c.clientKeyExchange())));
    },
  },
  {
    name: "empty body",
    alert: A.decode_error,
    run: (h) => {
      toCke(h);
      h.v.send(h.wire.plain(22, hs(16)));
    },
  },
  // RFC 8422 §5.7: ECPoint point<1..2^8-1>.
  {
    name: "empty point",
    alert: A.decode_error,
    run: (h) => {
      toCke(h);
      h.v.send(h.wire.plain(22, hs(16, vec8())));
    },
  },
  {
    name: "point length overflows",
    alert: A.decode_error,
    run: (h) => {
      toCke(h);
      h.v.send(h.wire.plain(22, hs(16, u8(40), zeros(32))));
    },
  },
  // RFC 8422 §5.11 / RFC 7748 §6.1: an invalid public value -> illegal_parameter.
  {
    name: "31-byte x25519 point",
    alert: A.illegal_parameter,
    run: (h) => {
      toCke(h);
      h.v.send(h.wire.plain(22, hs(16, vec8(zeros(31)))));
    },
  },
  {
    name: "all-zero x25519 point",
    alert: A.illegal_parameter,
    run: (h) => {
      toCke(h);
      h.v.send(h.wire.plain(22, hs(16, vec8(zeros(32)))));
    },
  },
  {
    name: "duplicated",
    alert: A.unexpected_message,
    run: (h) => {
      toCcs(h);
      h.v.send(h.wire.plain(22, h.c.clientKeyExchange()));
    },
  },
  {
    name: "ChangeCipherSpec instead",
    alert: A.unexpected_message,
    run: (h) => {
      toCke(h);
      h.v.send(record(20, CCS));
    },
  },
  {
    name: "Finished instead",
    alert: A.unexpected_message,
    run: (h) => {
      toCke(h);
      h.v.send(h.wire.plain(22, hs(20, zeros(12))));
    },
  },
  {
    name: "unsolicited client Certificate",
    alert: A.unexpected_message,
    run: (h) => {
      toCke(h);
      h.v.send(h.wire.plain(22, hs(11, u8(0), u16(0))));
    },
  },
  {
    name: "unsolicited CertificateVerify",
    alert: A.unexpected_message,
    run: (h) => {
      toCcs(h);
      h.v.send(h.wire.plain(22, hs(15, u16(0x0403), vec16(zeros(8)))));
    },
  },
  {
    name: "a second ClientHello",
    alert: A.unexpected_message,
    run: (h) => {
      toCke(h);
      h.v.send(h.wire.plain(22, h.c.hello()));
    },
  },
  {
    name: "application data",
    alert: A.unexpected_message,
    run: (h) => {
      toCke(h);
      h.v.send(record(23, text("GET /")));
    },
  },
  {
    name: "KeyUpdate (TLS 1.3 only)",
    alert: A.unexpected_message,
    run: (h) => {
      toCke(h);
      h.v.send(h.wire.plain(22, hs(24, u8(0))));
    },
  },
  // RFC 5246 Appendix E.1: once negotiated, records carry the version.
  {
    name: "record version 0x0301 after ServerHello",
    alert: A.protocol_version,
    run: (h) => {
      toCke(h);
      h.v.send(record(22, h.c.clientKeyExchange(), 0x0301));
    },
  },
  {
    name: "empty handshake record",
    alert: A.unexpected_message,
    run: (h) => {
      toCke(h);
      h.v.send(record(22, zeros(0)));
    },
  },
  {
    name: "warning alert flood",
    alert: A.unexpected_message,
    run: (h) => {
      toCke(h);
      flood(h, 50, () => record(21, Uint8Array.of(1, 100)));
    },
  },
]);

table("1.2 server, ChangeCipherSpec and Finished", hostileClient12, [
  // RFC 5246 §7.1: ChangeCipherSpec is one byte of value 1 (no alert named: decode_error for the
  // length, illegal_parameter for the value).
  {
    name: "ChangeCipherSpec of two bytes",
    alert: A.decode_error,
    run: (h) => {
      toCcs(h);
      h.v.send(record(20, Uint8Array.of(1, 1)));
    },
  },
  {
    name: "empty ChangeCipherSpec",
    alert: A.decode_error,
    run: (h) => {
      toCcs(h);
      h.v.send(record(20, zeros(0)));
    },
  },
  {
    name: "ChangeCipherSpec of value 2",
    alert: A.illegal_parameter,
    run: (h) => {
      toCcs(h);
      h.v.send(record(20, u8(2)));
    },
  },
  {
    name: "ChangeCipherSpec twice",
    alert: A.unexpected_message,
    run: (h) => {
      toFinished(h);
      h.v.send(h.wire.rec(20, CCS));
    },
  },
  // Wrong epoch: the Finished before ChangeCipherSpec, in plaintext.
  {
    name: "Finished before ChangeCipherSpec",
    alert: A.unexpected_message,
    run: (h) => {
      toCcs(h);
      h.v.send(h.wire.plain(22, h.c.finished()));
    },
  },
  // Wrong epoch: after ChangeCipherSpec a plaintext record cannot authenticate (§6.2.3.3: bad_record_mac).
  {
    name: "Finished in plaintext after ChangeCipherSpec",
    alert: A.bad_record_mac,
    run: (h) => {
      toFinished(h);
      h.v.send(h.wire.plain(22, h.c.finished()));
    },
  },
  {
    name: "Finished under the server's keys",
    alert: A.bad_record_mac,
    run: (h) => {
      toFinished(h);
      h.wire.writer = h.c.keys.server;
      h.v.send(h.wire.rec(22, h.c.finished()));
    },
  },
  {
    name: "truncated",
    alert: A.decode_error,
    run: (h) => {
      toFinished(h);
      h.v.send(h.wire.rec(22, mutate.truncate(h.c.finished())));
    },
  },
  {
    name: "padded",
    alert: A.decode_error,
    run: (h) => {
      toFinished(h);
      h.v.send(h.wire.rec(22, mutate.pad(h.c.finished())));
    },
  },
  // RFC 5246 §7.4.9: wrong verify_data -> decrypt_error.
  {
    name: "wrong verify_data",
    alert: A.decrypt_error,
    run: (h) => {
      toFinished(h);
      h.v.send(h.wire.rec(22, h.c.finished(zeros(12))));
    },
  },
  {
    name: "application data before Finished",
    alert: A.unexpected_message,
    run: (h) => {
      toFinished(h);
      h.v.send(h.wire.rec(23, text("GET /")));
    },
  },
  {
    name: "empty encrypted handshake record",
    alert: A.unexpected_message,
    run: (h) => {
      toFinished(h);
      h.v.send(h.wire.rec(22, zeros(0)));
    },
  },
  {
    name: "one bit flipped in the sealed Finished",
    alert: A.bad_record_mac,
    run: (h) => {
      toFinished(h);
      const r = h.wire.rec(22, h.c.finished());
      r[r.length - 1]! ^= 1;
      h.v.send(r);
    },
  },
  // RFC 5246 §6.2.3: TLSCiphertext over 2^14 + 2048 -> record_overflow; decrypted over 2^14 too.
  {
    name: "ciphertext of 2^14 + 2049 bytes",
    alert: A.record_overflow,
    run: (h) => {
      toFinished(h);
      h.v.send(record(22, zeros(16384 + 2049)));
    },
  },
  {
    name: "decrypted record of 2^14 + 1 bytes",
    alert: A.record_overflow,
    run: (h) => {
      toFinished(h);
      h.v.send(h.wire.rec(22, zeros(16385)));
    },
  },
]);

table("1.2 server, after the handshake", hostileClient12, [
  {
    name: "Finished again",
    alert: A.unexpected_message,
    run: (h) => {
      established(h);
      h.v.send(h.wire.rec(22, h.c.finished()));
    },
  },
  {
    name: "HelloRequest from the client",
    alert: A.unexpected_message,
    run: (h) => {
      established(h);
      h.v.send(h.wire.rec(22, hs(0)));
    },
  },
  {
    name: "KeyUpdate",
    alert: A.unexpected_message,
    run: (h) => {
      established(h);
      h.v.send(h.wire.rec(22, hs(24, u8(0))));
    },
  },
  {
    name: "NewSessionTicket from the client",
    alert: A.unexpected_message,
    run: (h) => {
      established(h);
      h.v.send(h.wire.rec(22, hs(4, zeros(6))));
    },
  },
  {
    name: "ChangeCipherSpec",
    alert: A.unexpected_message,
    run: (h) => {
      established(h);
      h.v.send(h.wire.rec(20, CCS));
    },
  },
  {
    name: "plaintext record",
    alert: A.bad_record_mac,
    run: (h) => {
      established(h);
      h.v.send(record(23, text("hello")));
    },
  },
  {
    name: "empty application data flood",
    alert: A.unexpected_message,
    run: (h) => {
      established(h);
      flood(h, 100, () => h.wire.rec(23, zeros(0)));
    },
  },
  {
    name: "empty handshake record",
    alert: A.unexpected_message,
    run: (h) => {
      established(h);
      h.v.send(h.wire.rec(22, zeros(0)));
    },
  },
  {
    name: "warning alert flood",
    alert: A.unexpected_message,
    run: (h) => {
      established(h);
      flood(h, 100, () => h.wire.rec(21, Uint8Array.of(1, 100)));
    },
  },
  {
    name: "decrypted record of 2^14 + 1 bytes",
    alert: A.record_overflow,
    run: (h) => {
      established(h);
      h.v.send(h.wire.rec(23, zeros(16385)));
    },
  },
]);

// RFC 5246 §7.2.2 / RFC 5746: a server that does not renegotiate answers with a no_renegotiation
// warning and carries on.
test("1.2 server refuses renegotiation with a no_renegotiation warning and keeps the connection", () => {
  const h = hostileClient12();
  established(h);
  h.v.send(h.wire.rec(22, h.c.hello()));
  assert.deepEqual(h.wire.alerts(), [[1, A.no_renegotiation]]);
  h.v.send(h.wire.rec(23, text("after")));
  h.v.expectAlive();
  assert.equal(new TextDecoder().decode(h.v.data.at(-1)), "after");
});

test("1.2 server: a flood of renegotiation ClientHellos ends the connection", () => {
  const h = hostileClient12();
  established(h);
  flood(h, 1000, () => h.wire.rec(22, h.c.hello()));
  h.v.expectFatal(A.unexpected_message);
});

test("1.2 server: a fatal alert from the client closes with a peer TLSError and no answer", () => {
  const h = hostileClient12();
  established(h);
  h.v.send(h.wire.rec(21, Uint8Array.of(2, A.internal_error)));
  assert.equal(h.v.errors.length, 1);
  assert.equal(h.v.errors[0]!.sentBy, "peer");
  assert.equal(h.v.errors[0]!.alert, A.internal_error);
  assert.equal(h.v.conn.connectionState, "closed");
  assert.equal(h.wire.alerts().length, 0);
});

// RFC 5246 Appendix E.1: a server MUST accept any {03,XX} record version for the ClientHello.
for (const recordVersion of [0x0300, 0x0301, 0x0302, 0x0303, 0x03ff]) {
  test(`1.2 server: ClientHello in a record of version 0x${recordVersion.toString(16)} is accepted`, () => {
    const h = hostileClient12();
    h.v.send(record(22, h.c.hello(), recordVersion));
    h.c.readServerFlight();
    h.v.send(
      h.wire.plain(22, h.c.clientKeyExchange()),
      h.c.changeCipherSpec(),
      h.wire.rec(22, h.c.finished()),
    );
    h.c.readServerFinish();
    h.v.expectAlive();
    assert.equal(h.v.handshakes, 1);
  });
}
