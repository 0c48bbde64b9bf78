import assert from "node:assert/strict";
import { test } from "node:test";
import { AlertDescription as A } from "../../src/alert.js";
import {
  type Bytes,
  cat,
  grease,
  hs,
  list16,
  mutate,
  record,
  text,
  u8,
  u16,
  vec8,
  vec16,
  vec24,
  zeros,
} from "./bytes.js";
import { add, drop, dup, set, table } from "./cases.js";
import { CCS, type ServerHello12Options, type Ske12Options, X25519 } from "./script12.js";
import { hostileServer12 } from "./setup.js";

/**
 * A hostile TLS 1.2 server against our ClientConnection (max TLS 1.2 unless said otherwise).
 * Alerts per RFC 5246 §7.2 and the RFCs cited.
 */

type H = ReturnType<typeof hostileServer12>;
interface Flight {
  sh: Bytes;
  cert: Bytes;
  ske: Bytes;
  shd: Bytes;
}
function honest(h: H, o: { sh?: ServerHello12Options; ske?: Ske12Options } = {}): Flight {
  h.s.readHello();
  return {
    sh: h.s.serverHello(o.sh),
    cert: h.s.certificate(),
    ske: h.s.serverKeyExchange(o.ske),
    shd: h.s.serverHelloDone(),
  };
}
const plain = (h: H, ...m: Bytes[]) => h.v.send(...m.map((x) => h.wire.plain(22, x)));
function upTo(h: H, f: Flight, n: number): void {
  plain(h, ...[f.sh, f.cert, f.ske, f.shd].slice(0, n));
}
/** The whole server flight sent; the client's answer read: it waits for our CCS and Finished. */
function toServerFinish(h: H, o: Parameters<typeof honest>[1] = {}): void {
  upTo(h, honest(h, o), 4);
  h.s.readClientKeyExchange();
  h.s.readClientFinished();
}
function established(h: H): void {
  toServerFinish(h);
  h.v.send(h.s.changeCipherSpec(), h.wire.rec(22, h.s.finished()));
  h.v.expectAlive();
  assert.equal(h.v.handshakes, 1);
}
const helloWith = (h: H, o: ServerHello12Options) => {
  h.s.readHello();
  plain(h, h.s.serverHello(o));
};
const flood = (h: H, n: number, make: () => Uint8Array) => {
  for (let i = 0; i < n && h.v.errors.length === 0; i++) h.v.send(make());
};

table("1.2 client, ServerHello", hostileServer12, [
  {
    name: "truncated",
    alert: A.decode_error,
    run: (h) => {
      const f = honest(h);
      plain(h, mutate.truncate(f.sh));
    },
  },
  {
    name: "padded",
    alert: A.decode_error,
    run: (h) => {
      const f = honest(h);
      plain(h, mutate.pad(f.sh));
    },
  },
  {
    name: "extensions length overflows",
    alert: A.decode_error,
    run: (h) => helloWith(h, { extBlock: cat(u16(40), u16(23), u16(0)) }),
  },
  { name: "duplicate extension", alert: A.decode_error, run: (h) => helloWith(h, { exts: dup(23) }) },
  // RFC 5246 §7.4.1.3: the suite must come from our list (illegal_parameter, as RFC 8446 §4.1.3 words it).
  { name: "unknown cipher suite", alert: A.illegal_parameter, run: (h) => helloWith(h, { suite: 0x7777 }) },
  { name: "GREASE cipher suite", alert: A.illegal_parameter, run: (h) => helloWith(h, { suite: grease(1) }) },
  { name: "TLS 1.3 suite", alert: A.illegal_parameter, run: (h) => helloWith(h, { suite: 0x1301 }) },
  {
    name: "RSA key transport (not offered)",
    alert: A.illegal_parameter,
    run: (h) => helloWith(h, { suite: 0x009c }),
  },
  {
    name: "TLS_EMPTY_RENEGOTIATION_INFO_SCSV as the suite",
    alert: A.illegal_parameter,
    run: (h) => helloWith(h, { suite: 0x00ff }),
  },
  { name: "compression method 1", alert: A.illegal_parameter, run: (h) => helloWith(h, { compression: 1 }) },
  // RFC 5246 Appendix E.1: a version we do not support -> protocol_version.
  { name: "version TLS 1.1", alert: A.protocol_version, run: (h) => helloWith(h, { version: 0x0302 }) },
  { name: "version SSL 3.0", alert: A.protocol_version, run: (h) => helloWith(h, { version: 0x0300 }) },
  {
    name: "version TLS 1.3 without supported_versions",
    alert: A.protocol_version,
    run: (h) => helloWith(h, { version: 0x0304 }),
  },
  { name: "GREASE version", alert: A.protocol_version, run: (h) => helloWith(h, { version: grease(2) }) },
  {
    name: "33-byte session id",
    alert: A.illegal_parameter,
    run: (h) => helloWith(h, { sessionId: zeros(33) }),
  },
  // RFC 5246 §7.4.1.4: an extension not requested -> unsupported_extension (RFC 8701: GREASE too).
  {
    name: "unsolicited unknown extension",
    alert: A.unsupported_extension,
    run: (h) => helloWith(h, { exts: add([0x5555, zeros(0)]) }),
  },
  {
    name: "GREASE extension",
    alert: A.unsupported_extension,
    run: (h) => helloWith(h, { exts: add([grease(3), zeros(0)]) }),
  },
  {
    name: "unsolicited ALPN",
    alert: A.unsupported_extension,
    run: (h) => helloWith(h, { exts: add([16, vec16(vec8(text("h2")))]) }),
  },
  {
    name: "key_share (TLS 1.3 only)",
    alert: A.unsupported_extension,
    run: (h) => helloWith(h, { exts: add([51, cat(u16(X25519), vec16(zeros(32)))]) }),
  },
  // RFC 5746 §3.4: non-empty renegotiated_connection -> handshake_failure.
  {
    name: "non-empty renegotiation_info",
    alert: A.handshake_failure,
    run: (h) => helloWith(h, { exts: set(0xff01, vec8(zeros(24))) }),
  },
  {
    name: "renegotiation_info length overflows",
    alert: A.decode_error,
    run: (h) => helloWith(h, { exts: set(0xff01, u8(3)) }),
  },
  // RFC 7627 §5.3 (we require it): handshake_failure.
  {
    name: "no extended_master_secret",
    alert: A.handshake_failure,
    run: (h) => helloWith(h, { exts: drop(23) }),
  },
  {
    name: "no extensions at all",
    alert: A.handshake_failure,
    run: (h) => helloWith(h, { extBlock: new Uint8Array(0) }),
  },
  {
    name: "extended_master_secret with data",
    alert: A.decode_error,
    run: (h) => helloWith(h, { exts: set(23, u8(0)) }),
  },
  // RFC 6066 §3: the server_name response is empty.
  {
    name: "non-empty server_name",
    alert: A.decode_error,
    run: (h) => helloWith(h, { exts: add([0, vec16(u8(0), vec16(text("x")))]) }),
  },
  {
    name: "duplicated",
    alert: A.unexpected_message,
    run: (h) => {
      const f = honest(h);
      plain(h, f.sh, f.sh);
    },
  },
  {
    name: "Certificate first",
    alert: A.unexpected_message,
    run: (h) => {
      const f = honest(h);
      plain(h, f.cert);
    },
  },
  {
    name: "ServerHelloDone right after ServerHello",
    alert: A.unexpected_message,
    run: (h) => {
      const f = honest(h);
      plain(h, f.sh, f.shd);
    },
  },
  {
    // We did not offer supported_versions; RFC 8446 §4.2.1 words it: "a version not offered by the
    // client ... illegal_parameter" (RFC 5246 §7.4.1.4 would say unsupported_extension).
    name: "supported_versions selecting TLS 1.3 to a TLS 1.2 client",
    alert: A.illegal_parameter,
    run: (h) => helloWith(h, { exts: add([43, u16(0x0304)]) }),
  },
  { name: "ChangeCipherSpec first", alert: A.unexpected_message, run: (h) => h.v.send(record(20, CCS)) },
  {
    name: "HelloRequest during the handshake, then garbage",
    alert: A.unexpected_message,
    run: (h) => plain(h, hs(0), hs(99)),
  },
]);

table("1.2 client, Certificate", hostileServer12, [
  {
    name: "truncated",
    alert: A.decode_error,
    run: (h) => {
      const f = honest(h);
      plain(h, f.sh, mutate.truncate(f.cert));
    },
  },
  {
    name: "padded",
    alert: A.decode_error,
    run: (h) => {
      const f = honest(h);
      plain(h, f.sh, mutate.pad(f.cert));
    },
  },
  // ASN.1Cert<1..2^24-1>.
  {
    name: "zero-length certificate entry",
    alert: A.decode_error,
    run: (h) => {
      const f = honest(h);
      plain(h, f.sh, hs(11, vec24(vec24())));
    },
  },
  {
    name: "entry length overflows the list",
    alert: A.decode_error,
    run: (h) => {
      const f = honest(h);
      const leaf = h.s.config.certificates[0]!.chain[0]!;
      plain(h, f.sh, hs(11, vec24(Uint8Array.of(0, (leaf.length + 9) >> 8, (leaf.length + 9) & 0xff), leaf)));
    },
  },
  // RFC 5246 §7.4.2 allows an empty list syntactically; an ECDHE_ECDSA server must send one: bad_certificate.
  {
    name: "empty certificate_list",
    alert: A.bad_certificate,
    run: (h) => {
      const f = honest(h);
      plain(h, f.sh, hs(11, vec24()));
    },
  },
  {
    name: "garbage certificate",
    alert: A.bad_certificate,
    run: (h) => {
      const f = honest(h);
      plain(h, f.sh, hs(11, vec24(vec24(Uint8Array.of(0x30, 1, 0)))));
    },
  },
  {
    name: "duplicated",
    alert: A.unexpected_message,
    run: (h) => {
      const f = honest(h);
      plain(h, f.sh, f.cert, f.cert);
    },
  },
  {
    name: "ServerKeyExchange before Certificate",
    alert: A.unexpected_message,
    run: (h) => {
      const f = honest(h);
      plain(h, f.sh, f.ske);
    },
  },
]);

const skeWith = (h: H, o: Ske12Options) => {
  const f = honest(h, { ske: o });
  upTo(h, f, 4); // the point is used once the ServerHelloDone arrives
};
table("1.2 client, ServerKeyExchange", hostileServer12, [
  {
    name: "truncated",
    alert: A.decode_error,
    run: (h) => {
      const f = honest(h);
      plain(h, f.sh, f.cert, mutate.truncate(f.ske));
    },
  },
  {
    name: "padded",
    alert: A.decode_error,
    run: (h) => {
      const f = honest(h);
      plain(h, f.sh, f.cert, mutate.pad(f.ske));
    },
  },
  {
    name: "point length overflows",
    alert: A.decode_error,
    run: (h) => skeWith(h, { body: cat(u8(3), u16(X25519), u8(200), zeros(32)) }),
  },
  {
    name: "signature length overflows",
    alert: A.decode_error,
    run: (h) =>
      skeWith(h, { body: cat(u8(3), u16(X25519), vec8(zeros(32)), u16(0x0403), u16(300), zeros(70)) }),
  },
  // RFC 8422 §5.4: ECPoint point<1..2^8-1>.
  { name: "empty point", alert: A.decode_error, run: (h) => skeWith(h, { point: zeros(0) }) },
  // RFC 8422 §5.4: only named_curve (3); explicit curves are deprecated.
  { name: "explicit_prime curve type", alert: A.illegal_parameter, run: (h) => skeWith(h, { curveType: 1 }) },
  { name: "unknown curve type 7", alert: A.illegal_parameter, run: (h) => skeWith(h, { curveType: 7 }) },
  // A group we did not offer (RFC 8701 §3: a GREASE namedcurve must fail) -> illegal_parameter.
  { name: "unknown group", alert: A.illegal_parameter, run: (h) => skeWith(h, { group: 0x7777 }) },
  { name: "GREASE group", alert: A.illegal_parameter, run: (h) => skeWith(h, { group: grease(4) }) },
  {
    name: "X25519MLKEM768 in TLS 1.2",
    alert: A.illegal_parameter,
    run: (h) => skeWith(h, { group: 0x11ec }),
  },
  { name: "31-byte x25519 point", alert: A.illegal_parameter, run: (h) => skeWith(h, { point: zeros(31) }) },
  { name: "all-zero x25519 point", alert: A.illegal_parameter, run: (h) => skeWith(h, { point: zeros(32) }) },
  // RFC 5246 §7.4.1.4.1 / RFC 8701 §3: a signature algorithm we did not offer -> illegal_parameter.
  {
    name: "unknown signature scheme",
    alert: A.illegal_parameter,
    run: (h) => skeWith(h, { scheme: 0x0777 }),
  },
  {
    name: "GREASE signature scheme",
    alert: A.illegal_parameter,
    run: (h) => skeWith(h, { scheme: grease(5) }),
  },
  {
    name: "RSA scheme for an EC key",
    alert: A.illegal_parameter,
    run: (h) => skeWith(h, { scheme: 0x0401 }),
  },
  { name: "ed25519 for a P-256 key", alert: A.illegal_parameter, run: (h) => skeWith(h, { scheme: 0x0807 }) },
  // RFC 5246 §7.4.3: a signature that does not verify -> decrypt_error.
  {
    name: "bad signature",
    alert: A.decrypt_error,
    run: (h) =>
      skeWith(h, {
        mangle: (s) => {
          const c = s.slice();
          c[c.length - 2]! ^= 1;
          return c;
        },
      }),
  },
  {
    name: "missing (ServerHelloDone after Certificate)",
    alert: A.unexpected_message,
    run: (h) => {
      const f = honest(h);
      plain(h, f.sh, f.cert, f.shd);
    },
  },
  {
    name: "duplicated",
    alert: A.unexpected_message,
    run: (h) => {
      const f = honest(h);
      plain(h, f.sh, f.cert, f.ske, f.ske);
    },
  },
]);

table("1.2 client, CertificateRequest and ServerHelloDone", hostileServer12, [
  {
    name: "ServerHelloDone padded",
    alert: A.decode_error,
    run: (h) => {
      const f = honest(h);
      upTo(h, f, 3);
      plain(h, mutate.pad(f.shd));
    },
  },
  {
    name: "ServerHelloDone duplicated",
    alert: A.unexpected_message,
    run: (h) => {
      const f = honest(h);
      upTo(h, f, 4);
      h.s.readClientKeyExchange();
      plain(h, f.shd);
    },
  },
  // certificate_types<1..2^8-1>; supported_signature_algorithms<2..2^16-2>.
  {
    name: "CertificateRequest with empty certificate_types",
    alert: A.decode_error,
    run: (h) => {
      const f = honest(h);
      upTo(h, f, 3);
      plain(h, hs(13, vec8(), list16([0x0403]), vec16()));
    },
  },
  {
    name: "CertificateRequest with empty signature algorithms",
    alert: A.decode_error,
    run: (h) => {
      const f = honest(h);
      upTo(h, f, 3);
      plain(h, hs(13, vec8(u8(64)), vec16(), vec16()));
    },
  },
  {
    name: "CertificateRequest truncated",
    alert: A.decode_error,
    run: (h) => {
      const f = honest(h);
      upTo(h, f, 3);
      plain(h, hs(13, vec8(u8(64)), list16([0x0403])));
    },
  },
  {
    name: "CertificateRequest with an empty DN",
    alert: A.decode_error,
    run: (h) => {
      const f = honest(h);
      upTo(h, f, 3);
      plain(h, hs(13, vec8(u8(64)), list16([0x0403]), vec16(vec16())));
    },
  },
  {
    name: "CertificateRequest twice",
    alert: A.unexpected_message,
    run: (h) => {
      const f = honest(h);
      upTo(h, f, 3);
      const cr = hs(13, vec8(u8(64)), list16([0x0403]), vec16());
      plain(h, cr, cr);
    },
  },
]);

table("1.2 client, server ChangeCipherSpec and Finished", hostileServer12, [
  {
    name: "Finished without ChangeCipherSpec",
    alert: A.unexpected_message,
    run: (h) => {
      toServerFinish(h);
      plain(h, h.s.finished());
    },
  },
  {
    name: "ChangeCipherSpec of value 2",
    alert: A.illegal_parameter,
    run: (h) => {
      toServerFinish(h);
      h.v.send(record(20, u8(2)));
    },
  },
  {
    name: "ChangeCipherSpec of two bytes",
    alert: A.decode_error,
    run: (h) => {
      toServerFinish(h);
      h.v.send(record(20, Uint8Array.of(1, 1)));
    },
  },
  {
    name: "ChangeCipherSpec twice",
    alert: A.unexpected_message,
    run: (h) => {
      toServerFinish(h);
      h.v.send(h.s.changeCipherSpec(), h.wire.rec(20, CCS));
    },
  },
  {
    name: "ChangeCipherSpec before ServerHelloDone",
    alert: A.unexpected_message,
    run: (h) => {
      const f = honest(h);
      upTo(h, f, 3);
      h.v.send(record(20, CCS));
    },
  },
  {
    name: "truncated",
    alert: A.decode_error,
    run: (h) => {
      toServerFinish(h);
      h.v.send(h.s.changeCipherSpec(), h.wire.rec(22, mutate.truncate(h.s.finished())));
    },
  },
  {
    name: "padded",
    alert: A.decode_error,
    run: (h) => {
      toServerFinish(h);
      h.v.send(h.s.changeCipherSpec(), h.wire.rec(22, mutate.pad(h.s.finished())));
    },
  },
  {
    name: "wrong verify_data",
    alert: A.decrypt_error,
    run: (h) => {
      toServerFinish(h);
      h.v.send(h.s.changeCipherSpec(), h.wire.rec(22, h.s.finished(zeros(12))));
    },
  },
  {
    name: "under the client's keys",
    alert: A.bad_record_mac,
    run: (h) => {
      toServerFinish(h);
      h.v.send(h.s.changeCipherSpec());
      h.wire.writer = h.s.keys.clientWriterForTest();
      h.v.send(h.wire.rec(22, h.s.finished()));
    },
  },
  {
    name: "in plaintext after ChangeCipherSpec",
    alert: A.bad_record_mac,
    run: (h) => {
      toServerFinish(h);
      h.v.send(h.s.changeCipherSpec(), h.wire.plain(22, h.s.finished()));
    },
  },
  {
    name: "application data before Finished",
    alert: A.unexpected_message,
    run: (h) => {
      toServerFinish(h);
      h.v.send(h.s.changeCipherSpec(), h.wire.rec(23, text("x")));
    },
  },
  // RFC 5077 §3.3: NewSessionTicket only if we asked and the server agreed in its ServerHello.
  {
    name: "NewSessionTicket not announced",
    alert: A.unexpected_message,
    run: (h) => {
      toServerFinish(h);
      plain(h, hs(4, zeros(4), vec16(zeros(16))));
    },
  },
  {
    name: "announced NewSessionTicket missing",
    alert: A.unexpected_message,
    run: (h) => {
      toServerFinish(h, { sh: { exts: add([35, zeros(0)]) } });
      h.v.send(h.s.changeCipherSpec());
    },
  },
  {
    name: "NewSessionTicket truncated",
    alert: A.decode_error,
    run: (h) => {
      toServerFinish(h, { sh: { exts: add([35, zeros(0)]) } });
      plain(h, hs(4, zeros(4), u16(16), zeros(8)));
    },
  },
  {
    name: "NewSessionTicket padded",
    alert: A.decode_error,
    run: (h) => {
      toServerFinish(h, { sh: { exts: add([35, zeros(0)]) } });
      plain(h, hs(4, zeros(4), vec16(zeros(16)), u8(0)));
    },
  },
  {
    name: "Finished duplicated",
    alert: A.unexpected_message,
    run: (h) => {
      toServerFinish(h);
      const fin = h.s.finished();
      h.v.send(h.s.changeCipherSpec(), h.wire.rec(22, fin), h.wire.rec(22, fin));
    },
  },
]);

table("1.2 client, after the handshake", hostileServer12, [
  // RFC 5246 §7.4.1.1: HelloRequest is empty.
  {
    name: "HelloRequest with a body",
    alert: A.decode_error,
    run: (h) => {
      established(h);
      h.v.send(h.wire.rec(22, hs(0, u8(0))));
    },
  },
  {
    name: "HelloRequest flood",
    alert: A.unexpected_message,
    run: (h) => {
      established(h);
      flood(h, 1000, () => h.wire.rec(22, hs(0)));
    },
  },
  {
    name: "ServerHello again",
    alert: A.unexpected_message,
    run: (h) => {
      established(h);
      h.v.send(h.wire.rec(22, h.s.serverHello()));
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
    name: "ChangeCipherSpec",
    alert: A.unexpected_message,
    run: (h) => {
      established(h);
      h.v.send(h.wire.rec(20, CCS));
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
  {
    name: "ciphertext of 2^14 + 2049 bytes",
    alert: A.record_overflow,
    run: (h) => {
      established(h);
      h.v.send(record(23, zeros(16384 + 2049)));
    },
  },
  {
    name: "record version 0x0301",
    alert: A.protocol_version,
    run: (h) => {
      established(h);
      h.v.send(h.wire.rec(23, text("x"), 0x0301));
    },
  },
]);

// RFC 5246 §7.4.1.1: a client that does not renegotiate may answer HelloRequest with no_renegotiation.
test("1.2 client answers HelloRequest with a no_renegotiation warning and keeps the connection", () => {
  const h = hostileServer12();
  established(h);
  h.v.send(h.wire.rec(22, hs(0)));
  assert.deepEqual(h.wire.alerts(), [[1, A.no_renegotiation]]);
  h.v.send(h.wire.rec(23, text("after")));
  h.v.expectAlive();
  for (let i = 0; i < 20; i++) h.v.send(h.wire.rec(22, hs(0)), h.wire.rec(23, text(`${i}`)));
  h.v.expectAlive();
});

// RFC 8446 §4.1.3: a TLS 1.3 client offered TLS 1.3; a TLS 1.2 ServerHello whose random ends in
// the downgrade sentinel means an attacker stripped it: illegal_parameter.
const DOWNGRD = text("DOWNGRD");
for (const [last, label] of [
  [1, "TLS 1.2"],
  [0, "TLS 1.1"],
] as const) {
  test(`1.3-capable client: ${label} downgrade sentinel in a TLS 1.2 ServerHello -> illegal_parameter`, () => {
    const h = hostileServer12({ maxVersion: "TLSv1.3" });
    h.s.readHello();
    plain(h, h.s.serverHello({ random: cat(zeros(24), DOWNGRD, u8(last)) }));
    h.v.expectFatal(A.illegal_parameter);
  });
}

test("1.3-capable client completes TLS 1.2 with a server without supported_versions", () => {
  const h = hostileServer12({ maxVersion: "TLSv1.3" });
  established(h);
  assert.equal(h.v.conn.protocol, "TLSv1.2");
});

test("1.2-only client accepts the TLS 1.2 sentinel (it offered nothing higher)", () => {
  const h = hostileServer12();
  h.s.random.set(cat(h.s.random.subarray(0, 24), DOWNGRD, u8(1)));
  established(h);
});
