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
  u32,
  vec8,
  vec16,
  vec24,
  zeros,
} from "./bytes.js";
import { add, chain, drop, dup, set, table } from "./cases.js";
import {
  AES128,
  type Ext,
  encodeExts,
  P256,
  randomProtection,
  type ServerHello13Options,
  X25519,
} from "./script13.js";
import { hostileServer13 } from "./setup.js";

/**
 * A hostile TLS 1.3 server against our ClientConnection: each message of the server flight
 * mangled, HelloRetryRequest abuse and post-handshake floods. Alerts per RFC 8446 §6.2 and the
 * section cited.
 */

type H = ReturnType<typeof hostileServer13>;
interface Flight {
  sh: Bytes;
  ee: Bytes;
  cert: Bytes;
  cv: Bytes;
  fin: Bytes;
}

/** The honest server flight (the transcript follows it), with optional ServerHello / EE changes. */
function honest(h: H, o: { sh?: ServerHello13Options; ee?: Ext[] } = {}): Flight {
  h.s.readHello();
  const sh = h.s.serverHello(o.sh);
  h.s.handshakeKeys();
  const ee = h.s.encryptedExtensions(o.ee);
  const cert = h.s.certificate();
  const cv = h.s.certificateVerify();
  const fin = h.s.finished();
  return { sh, ee, cert, cv, fin };
}
const sealed = (h: H, ...m: Bytes[]) => h.v.send(...m.map((x) => h.wire.rec(22, x)));
/** ServerHello in plaintext, then `n` of the encrypted messages. */
function upTo(h: H, f: Flight, n: number): void {
  h.v.send(h.wire.plain(22, f.sh));
  sealed(h, ...[f.ee, f.cert, f.cv, f.fin].slice(0, n));
}
/** Sends a flight whose ServerHello is replaced by `sh`. */
function badHello(h: H, sh: (f: Flight) => Bytes): void {
  const f = honest(h);
  h.v.send(h.wire.plain(22, sh(f)));
}
const helloWith = (h: H, o: ServerHello13Options) => {
  h.s.readHello();
  h.v.send(h.wire.plain(22, h.s.serverHello(o)));
};
/** Full handshake; the script writes under the server application keys. */
function established(h: H): void {
  const f = honest(h);
  upTo(h, f, 4);
  h.s.appKeys();
  h.wire.next(20);
  h.s.useAppKeys();
  h.v.expectAlive();
  assert.equal(h.v.handshakes, 1);
}
const keyShareX = (k: Bytes) => cat(u16(X25519), vec16(k));
const nst = (ticket: Bytes = zeros(16), exts: Bytes = vec16()) =>
  hs(4, u32(3600), u32(1), vec8(u8(0)), vec16(ticket), exts);

table("1.3 client, ServerHello", hostileServer13, [
  { name: "truncated", alert: A.decode_error, run: (h) => badHello(h, (f) => mutate.truncate(f.sh)) },
  { name: "padded", alert: A.decode_error, run: (h) => badHello(h, (f) => mutate.pad(f.sh)) },
  { name: "empty", alert: A.decode_error, run: (h) => badHello(h, () => hs(2)) },
  {
    name: "extensions length overflows the message",
    alert: A.decode_error,
    run: (h) =>
      badHello(h, (f) => {
        // The extensions block says 4 bytes more than the message holds.
        const body = f.sh.slice(4);
        const at = 2 + 32 + 1 + body[34]! + 3;
        const n = (body[at]! << 8) | body[at + 1]!;
        body[at] = (n + 4) >> 8;
        body[at + 1] = (n + 4) & 0xff;
        return hs(2, body);
      }),
  },
  { name: "duplicate key_share", alert: A.decode_error, run: (h) => helloWith(h, { exts: dup(51) }) },
  // §4.2: an extension we did not offer -> unsupported_extension.
  {
    name: "unsolicited unknown extension",
    alert: A.unsupported_extension,
    run: (h) => helloWith(h, { exts: add([0x5555, zeros(0)]) }),
  },
  // RFC 8701 §3: "any ServerHello extension" that is GREASE must fail the connection.
  {
    name: "GREASE extension",
    alert: A.unsupported_extension,
    run: (h) => helloWith(h, { exts: add([grease(2), zeros(0)]) }),
  },
  // §4.2: a known extension in a message it does not belong to -> illegal_parameter.
  {
    name: "server_name in ServerHello",
    alert: A.illegal_parameter,
    run: (h) => helloWith(h, { exts: add([0, zeros(0)]) }),
  },
  {
    name: "supported_groups in ServerHello",
    alert: A.illegal_parameter,
    run: (h) => helloWith(h, { exts: add([10, list16([X25519])]) }),
  },
  // §4.1.3: a cipher suite not offered -> illegal_parameter (RFC 8701: GREASE likewise).
  { name: "unknown cipher suite", alert: A.illegal_parameter, run: (h) => helloWith(h, { suite: 0x13ff }) },
  { name: "GREASE cipher suite", alert: A.illegal_parameter, run: (h) => helloWith(h, { suite: grease(4) }) },
  {
    name: "TLS 1.2 cipher suite with TLS 1.3",
    alert: A.illegal_parameter,
    run: (h) => helloWith(h, { suite: 0xc02b }),
  },
  { name: "compression method 1", alert: A.illegal_parameter, run: (h) => helloWith(h, { compression: 1 }) },
  // §4.1.3: legacy_session_id_echo must match.
  {
    name: "session id echo that differs",
    alert: A.illegal_parameter,
    run: (h) => helloWith(h, { sessionId: zeros(32) }),
  },
  {
    name: "session id echo of 33 bytes",
    alert: A.illegal_parameter,
    run: (h) => helloWith(h, { sessionId: zeros(33) }),
  },
  // §4.2.1: a version not offered, or below TLS 1.3, in supported_versions -> illegal_parameter.
  {
    name: "supported_versions 0x0305",
    alert: A.illegal_parameter,
    run: (h) => helloWith(h, { exts: set(43, u16(0x0305)) }),
  },
  {
    name: "supported_versions TLS 1.2",
    alert: A.illegal_parameter,
    run: (h) => helloWith(h, { exts: set(43, u16(0x0303)) }),
  },
  {
    name: "supported_versions GREASE",
    alert: A.illegal_parameter,
    run: (h) => helloWith(h, { exts: set(43, u16(grease(5))) }),
  },
  {
    name: "supported_versions of one byte",
    alert: A.decode_error,
    run: (h) => helloWith(h, { exts: set(43, u8(3)) }),
  },
  {
    name: "supported_versions padded",
    alert: A.decode_error,
    run: (h) => helloWith(h, { exts: set(43, cat(u16(0x0304), u8(0))) }),
  },
  // §4.2.8: the selected group must be one we sent a share for.
  {
    name: "key_share for P-256 (no share was sent)",
    alert: A.illegal_parameter,
    run: (h) => helloWith(h, { exts: set(51, cat(u16(P256), vec16(cat(u8(4), zeros(64))))) }),
  },
  {
    name: "key_share for an unknown group",
    alert: A.illegal_parameter,
    run: (h) => helloWith(h, { exts: set(51, cat(u16(0x7777), vec16(zeros(32)))) }),
  },
  // KeyShareEntry.key_exchange<1..2^16-1>.
  {
    name: "key_share with empty key_exchange",
    alert: A.decode_error,
    run: (h) => helloWith(h, { exts: set(51, keyShareX(zeros(0))) }),
  },
  {
    name: "key_share length overflows",
    alert: A.decode_error,
    run: (h) => helloWith(h, { exts: set(51, cat(u16(X25519), u16(40), zeros(32))) }),
  },
  {
    name: "key_share padded",
    alert: A.decode_error,
    run: (h) => helloWith(h, { exts: set(51, cat(keyShareX(zeros(32)), u8(0))) }),
  },
  {
    name: "31-byte x25519 share",
    alert: A.illegal_parameter,
    run: (h) => helloWith(h, { exts: set(51, keyShareX(zeros(31))) }),
  },
  // §7.4.2: an all-zero shared secret must be refused.
  {
    name: "all-zero x25519 share",
    alert: A.illegal_parameter,
    run: (h) => helloWith(h, { exts: set(51, keyShareX(zeros(32))) }),
  },
  // §9.2 / §4.2.8: no PSK was offered, so key_share is mandatory.
  { name: "no key_share", alert: A.missing_extension, run: (h) => helloWith(h, { exts: drop(51) }) },
  // §4.2.11: pre_shared_key selected while none was offered.
  {
    name: "unsolicited pre_shared_key",
    alert: A.unsupported_extension,
    run: (h) => helloWith(h, { exts: add([41, u16(0)]) }),
  },
  {
    name: "duplicated",
    alert: A.unexpected_message,
    run: (h) => {
      const f = honest(h);
      h.v.send(h.wire.plain(22, f.sh), h.wire.plain(22, f.sh));
    },
  },
  {
    name: "EncryptedExtensions first",
    alert: A.unexpected_message,
    run: (h) => h.v.send(h.wire.plain(22, hs(8, vec16()))),
  },
  {
    name: "Certificate first",
    alert: A.unexpected_message,
    run: (h) => h.v.send(h.wire.plain(22, hs(11, vec8(), vec24()))),
  },
  { name: "HelloRequest first", alert: A.unexpected_message, run: (h) => h.v.send(h.wire.plain(22, hs(0))) },
  {
    name: "ClientHello sent to a client",
    alert: A.unexpected_message,
    run: (h) => badHello(h, (f) => mutate.retype(f.sh, 1)),
  },
  {
    name: "application data first",
    alert: A.unexpected_message,
    run: (h) => h.v.send(record(23, text("hello"))),
  },
  {
    name: "plaintext record of 2^14 + 1",
    alert: A.record_overflow,
    run: (h) => h.v.send(record(22, zeros(16385))),
  },
]);

table("1.3 client, EncryptedExtensions", hostileServer13, [
  // Wrong epoch: plaintext after ServerHello (§5: unexpected record type).
  {
    name: "in plaintext",
    alert: A.unexpected_message,
    run: (h) => {
      const f = honest(h);
      h.v.send(h.wire.plain(22, f.sh), h.wire.plain(22, f.ee));
    },
  },
  {
    name: "under random keys",
    alert: A.bad_record_mac,
    run: (h) => {
      const f = honest(h);
      h.v.send(h.wire.plain(22, f.sh), randomProtection().sealRecord(22, 0x0303, f.ee));
    },
  },
  {
    name: "truncated",
    alert: A.decode_error,
    run: (h) => {
      const f = honest(h);
      upTo(h, f, 0);
      sealed(h, mutate.truncate(f.ee));
    },
  },
  {
    name: "padded",
    alert: A.decode_error,
    run: (h) => {
      const f = honest(h);
      upTo(h, f, 0);
      sealed(h, mutate.pad(f.ee));
    },
  },
  {
    name: "empty body",
    alert: A.decode_error,
    run: (h) => {
      const f = honest(h);
      upTo(h, f, 0);
      sealed(h, hs(8));
    },
  },
  {
    name: "extensions length overflows",
    alert: A.decode_error,
    run: (h) => {
      const f = honest(h);
      upTo(h, f, 0);
      sealed(h, hs(8, u16(10), zeros(4)));
    },
  },
  // §4.2: known extensions that do not belong in EncryptedExtensions -> illegal_parameter.
  {
    name: "key_share in EE",
    alert: A.illegal_parameter,
    run: (h) => {
      const f = honest(h, { ee: [[51, keyShareX(zeros(32))]] });
      upTo(h, f, 1);
    },
  },
  {
    name: "supported_versions in EE",
    alert: A.illegal_parameter,
    run: (h) => {
      const f = honest(h, { ee: [[43, u16(0x0304)]] });
      upTo(h, f, 1);
    },
  },
  {
    name: "signature_algorithms in EE",
    alert: A.illegal_parameter,
    run: (h) => {
      const f = honest(h, { ee: [[13, list16([0x0403])]] });
      upTo(h, f, 1);
    },
  },
  // §4.2: responses to extensions we did not send -> unsupported_extension.
  {
    name: "unsolicited ALPN",
    alert: A.unsupported_extension,
    run: (h) => {
      const f = honest(h, { ee: [[16, vec16(vec8(text("h2")))]] });
      upTo(h, f, 1);
    },
  },
  {
    name: "unsolicited unknown extension",
    alert: A.unsupported_extension,
    run: (h) => {
      const f = honest(h, { ee: [[0x5555, zeros(0)]] });
      upTo(h, f, 1);
    },
  },
  // RFC 8701 §3: GREASE in "any ... EncryptedExtensions ... extension".
  {
    name: "GREASE extension",
    alert: A.unsupported_extension,
    run: (h) => {
      const f = honest(h, { ee: [[grease(9), zeros(0)]] });
      upTo(h, f, 1);
    },
  },
  {
    name: "duplicate extension",
    alert: A.decode_error,
    run: (h) => {
      const f = honest(h, {
        ee: [
          [0, zeros(0)],
          [0, zeros(0)],
        ],
      });
      upTo(h, f, 1);
    },
  },
  {
    name: "duplicated",
    alert: A.unexpected_message,
    run: (h) => {
      const f = honest(h);
      upTo(h, f, 1);
      sealed(h, f.ee);
    },
  },
  {
    name: "missing (Certificate first)",
    alert: A.unexpected_message,
    run: (h) => {
      const f = honest(h);
      upTo(h, f, 0);
      sealed(h, f.cert);
    },
  },
  {
    name: "Finished first",
    alert: A.unexpected_message,
    run: (h) => {
      const f = honest(h);
      upTo(h, f, 0);
      sealed(h, f.fin);
    },
  },
  {
    name: "NewSessionTicket first",
    alert: A.unexpected_message,
    run: (h) => {
      const f = honest(h);
      upTo(h, f, 0);
      sealed(h, nst());
    },
  },
  {
    name: "KeyUpdate first",
    alert: A.unexpected_message,
    run: (h) => {
      const f = honest(h);
      upTo(h, f, 0);
      sealed(h, hs(24, u8(0)));
    },
  },
  // Alien code points: an unknown handshake type.
  {
    name: "unknown handshake type 99",
    alert: A.unexpected_message,
    run: (h) => {
      const f = honest(h);
      upTo(h, f, 0);
      sealed(h, hs(99));
    },
  },
]);

const certMsg = (h: H, list: Bytes, context: Bytes = vec8()) => {
  const f = honest(h);
  upTo(h, f, 1);
  sealed(h, hs(11, context, list));
};
const leaf = (h: H) => h.s.config.certificates[0]!.chain[0]!;
const chainList = (h: H, entryExt: Bytes = vec16()) =>
  vec24(...h.s.config.certificates[0]!.chain.map((c) => cat(vec24(c), entryExt)));

table("1.3 client, Certificate", hostileServer13, [
  {
    name: "truncated",
    alert: A.decode_error,
    run: (h) => {
      const f = honest(h);
      upTo(h, f, 1);
      sealed(h, mutate.truncate(f.cert));
    },
  },
  {
    name: "padded",
    alert: A.decode_error,
    run: (h) => {
      const f = honest(h);
      upTo(h, f, 1);
      sealed(h, mutate.pad(f.cert));
    },
  },
  // §4.4.2.4: "If the server supplies an empty Certificate message, the client MUST abort ... decode_error".
  { name: "empty certificate_list", alert: A.decode_error, run: (h) => certMsg(h, vec24()) },
  // CertificateEntry.cert_data<1..2^24-1>.
  { name: "zero-length cert_data", alert: A.decode_error, run: (h) => certMsg(h, vec24(vec24(), vec16())) },
  {
    name: "entry length overflows the list",
    alert: A.decode_error,
    run: (h) => certMsg(h, vec24(u24n(leaf(h).length + 10), leaf(h), vec16())),
  },
  {
    name: "list length overflows the message",
    alert: A.decode_error,
    run: (h) => {
      const l = chainList(h);
      certMsg(h, cat(u24n(l.length + 3 - 3 + 100), l.subarray(3)));
    },
  },
  {
    name: "entry without its extensions field",
    alert: A.decode_error,
    run: (h) => certMsg(h, vec24(vec24(leaf(h)))),
  },
  // §4.4.2: certificate_request_context is empty for server authentication.
  {
    name: "non-empty certificate_request_context",
    alert: A.illegal_parameter,
    run: (h) => certMsg(h, chainList(h), vec8(u8(1))),
  },
  // §4.4.2: entry extensions must answer ClientHello extensions (§4.2: unsupported_extension).
  {
    name: "unsolicited entry extension",
    alert: A.unsupported_extension,
    run: (h) => certMsg(h, chainList(h, vec16(u16(0x5555), u16(0)))),
  },
  {
    name: "GREASE entry extension",
    alert: A.unsupported_extension,
    run: (h) => certMsg(h, chainList(h, vec16(u16(grease(1)), u16(0)))),
  },
  // §6.2 bad_certificate: "A certificate was corrupt".
  {
    name: "garbage certificate",
    alert: A.bad_certificate,
    run: (h) => certMsg(h, vec24(vec24(Uint8Array.of(0x30, 3, 1, 2, 3)), vec16())),
  },
  {
    name: "duplicated",
    alert: A.unexpected_message,
    run: (h) => {
      const f = honest(h);
      upTo(h, f, 2);
      sealed(h, f.cert);
    },
  },
  {
    name: "missing (CertificateVerify first)",
    alert: A.unexpected_message,
    run: (h) => {
      const f = honest(h);
      upTo(h, f, 1);
      sealed(h, f.cv);
    },
  },
  {
    name: "CertificateRequest after Certificate",
    alert: A.unexpected_message,
    run: (h) => {
      const f = honest(h);
      upTo(h, f, 2);
      sealed(h, hs(13, vec8(), vec16(u16(13), vec16(list16([0x0403])))));
    },
  },
]);

function u24n(n: number): Bytes {
  return Uint8Array.of((n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff);
}

const cvWith = (h: H, build: (f: Flight) => Bytes) => {
  const f = honest(h);
  upTo(h, f, 2);
  sealed(h, build(f));
};
const cvScheme = (scheme: number) => (h: H) => cvWith(h, (f) => hs(15, u16(scheme), f.cv.subarray(6)));

table("1.3 client, CertificateVerify", hostileServer13, [
  { name: "truncated", alert: A.decode_error, run: (h) => cvWith(h, (f) => mutate.truncate(f.cv)) },
  { name: "padded", alert: A.decode_error, run: (h) => cvWith(h, (f) => mutate.pad(f.cv)) },
  {
    name: "signature length overflows",
    alert: A.decode_error,
    run: (h) => cvWith(h, (f) => hs(15, u16(0x0403), u16(f.cv.length), f.cv.subarray(8))),
  },
  // §4.4.3: the scheme must be one we offered (no alert named there; illegal_parameter as for §4.2.3 violations).
  { name: "unknown signature scheme", alert: A.illegal_parameter, run: cvScheme(0x0777) },
  { name: "GREASE signature scheme", alert: A.illegal_parameter, run: cvScheme(grease(6)) },
  { name: "rsa_pkcs1_sha256 (TLS 1.2 only)", alert: A.illegal_parameter, run: cvScheme(0x0401) },
  { name: "ecdsa_sha1", alert: A.illegal_parameter, run: cvScheme(0x0203) },
  // The scheme names another curve than the key's (TLS 1.3 binds ECDSA schemes to curves).
  { name: "ecdsa_secp384r1_sha384 for a P-256 key", alert: A.illegal_parameter, run: cvScheme(0x0503) },
  { name: "rsa_pss_rsae_sha256 for an EC key", alert: A.illegal_parameter, run: cvScheme(0x0804) },
  // §4.4.3: a signature that does not verify -> decrypt_error.
  {
    name: "bad signature",
    alert: A.decrypt_error,
    run: (h) =>
      cvWith(h, (f) => {
        const c = f.cv.slice();
        c[c.length - 3]! ^= 1;
        return c;
      }),
  },
  {
    name: "empty signature",
    alert: A.decrypt_error,
    run: (h) => cvWith(h, () => hs(15, u16(0x0403), vec16())),
  },
  {
    name: "duplicated",
    alert: A.unexpected_message,
    run: (h) => {
      const f = honest(h);
      upTo(h, f, 3);
      sealed(h, f.cv);
    },
  },
  {
    name: "missing (Finished first)",
    alert: A.unexpected_message,
    run: (h) => {
      const f = honest(h);
      upTo(h, f, 2);
      sealed(h, f.fin);
    },
  },
]);

table("1.3 client, server Finished", hostileServer13, [
  {
    name: "truncated",
    alert: A.decode_error,
    run: (h) => {
      const f = honest(h);
      upTo(h, f, 3);
      sealed(h, mutate.truncate(f.fin));
    },
  },
  {
    name: "padded",
    alert: A.decode_error,
    run: (h) => {
      const f = honest(h);
      upTo(h, f, 3);
      sealed(h, mutate.pad(f.fin));
    },
  },
  {
    name: "wrong verify_data",
    alert: A.decrypt_error,
    run: (h) => {
      const f = honest(h);
      upTo(h, f, 3);
      sealed(h, hs(20, zeros(32)));
    },
  },
  {
    name: "in plaintext",
    alert: A.unexpected_message,
    run: (h) => {
      const f = honest(h);
      upTo(h, f, 3);
      h.v.send(h.wire.plain(22, f.fin));
    },
  },
  {
    name: "under the application keys",
    alert: A.bad_record_mac,
    run: (h) => {
      const f = honest(h);
      upTo(h, f, 3);
      h.s.appKeys();
      h.s.useAppKeys();
      sealed(h, f.fin);
    },
  },
  // §5.1: a message after Finished in the same record would span the key change.
  {
    name: "followed by NewSessionTicket in the same record",
    alert: A.unexpected_message,
    run: (h) => {
      const f = honest(h);
      upTo(h, f, 3);
      sealed(h, cat(f.fin, nst()));
    },
  },
  {
    name: "duplicated in the same record",
    alert: A.unexpected_message,
    run: (h) => {
      const f = honest(h);
      upTo(h, f, 3);
      sealed(h, cat(f.fin, f.fin));
    },
  },
  {
    name: "application data before Finished",
    alert: A.unexpected_message,
    run: (h) => {
      const f = honest(h);
      upTo(h, f, 3);
      h.v.send(h.wire.rec(23, text("0.5-RTT?")));
    },
  },
  // §5: change_cipher_spec rules.
  {
    name: "ChangeCipherSpec of value 2",
    alert: A.unexpected_message,
    run: (h) => {
      const f = honest(h);
      upTo(h, f, 0);
      h.v.send(record(20, u8(2)));
    },
  },
  {
    name: "two ChangeCipherSpecs",
    alert: A.unexpected_message,
    run: (h) => {
      const f = honest(h);
      upTo(h, f, 0);
      h.v.send(record(20, u8(1)), record(20, u8(1)));
    },
  },
  {
    name: "protected ChangeCipherSpec",
    alert: A.unexpected_message,
    run: (h) => {
      const f = honest(h);
      upTo(h, f, 1);
      h.v.send(h.wire.rec(20, u8(1)));
    },
  },
  {
    name: "empty encrypted handshake record",
    alert: A.unexpected_message,
    run: (h) => {
      const f = honest(h);
      upTo(h, f, 1);
      h.v.send(h.wire.rec(22, zeros(0)));
    },
  },
  {
    name: "warning alert flood",
    alert: A.unexpected_message,
    run: (h) => {
      const f = honest(h);
      upTo(h, f, 1);
      h.v.send(...Array.from({ length: 40 }, () => h.wire.rec(21, Uint8Array.of(1, 90))));
    },
  },
]);

// ---- HelloRetryRequest --------------------------------------------------------------------------

/** The client offered shares for X25519MLKEM768 and x25519; an HRR asks for P-256. */
function hrr(h: H, group = P256, extra: Ext[] = []): void {
  h.s.readHello();
  h.v.send(h.wire.plain(22, h.s.helloRetry(group, extra)));
}

table("1.3 client, HelloRetryRequest", hostileServer13, [
  // §4.1.4: "If a client receives a second HelloRetryRequest ... unexpected_message".
  {
    name: "HelloRetryRequest twice",
    alert: A.unexpected_message,
    run: (h) => {
      hrr(h);
      h.s.readHello();
      h.v.send(h.wire.plain(22, h.s.helloRetry(P256)));
    },
  },
  // §4.1.4: an HRR that would not change the ClientHello -> illegal_parameter.
  {
    name: "asks for a group we already sent a share for",
    alert: A.illegal_parameter,
    run: (h) => hrr(h, X25519),
  },
  // §4.2.8: the selected group must be in our supported_groups.
  { name: "asks for an unknown group", alert: A.illegal_parameter, run: (h) => hrr(h, 0x7777) },
  { name: "asks for a GREASE group", alert: A.illegal_parameter, run: (h) => hrr(h, grease(2)) },
  // RFC 8701 §3: "any HelloRetryRequest ... extension".
  {
    name: "GREASE extension",
    alert: A.unsupported_extension,
    run: (h) => hrr(h, P256, [[grease(3), zeros(0)]]),
  },
  // Cookie<1..2^16-1>.
  { name: "empty cookie", alert: A.decode_error, run: (h) => hrr(h, P256, [[44, vec16()]]) },
  {
    name: "duplicate extension",
    alert: A.decode_error,
    run: (h) =>
      hrr(h, P256, [
        [44, vec16(u8(1))],
        [44, vec16(u8(1))],
      ]),
  },
  {
    name: "ServerHello with another cipher suite than the HRR",
    alert: A.illegal_parameter,
    run: (h) => {
      hrr(h);
      h.s.readHello();
      h.v.send(h.wire.plain(22, h.s.serverHello({ suite: 0x1302 })));
    },
  },
  {
    name: "ServerHello for another group than the HRR asked for",
    alert: A.illegal_parameter,
    run: (h) => {
      hrr(h);
      h.s.readHello();
      h.v.send(h.wire.plain(22, h.s.serverHello()));
    },
  },
]);

test("1.3 client: after an HRR the second ClientHello carries a P-256 share only", () => {
  const h = hostileServer13();
  hrr(h);
  h.v.expectAlive();
  const ch2 = h.wire.next(1);
  assert.ok(ch2.length > 100);
  // The compat CCS may come first; then no alert.
  assert.deepEqual(h.wire.alerts(), []);
});

// ---- post-handshake ------------------------------------------------------------------------------

table("1.3 client, post-handshake", hostileServer13, [
  {
    name: "NewSessionTicket truncated",
    alert: A.decode_error,
    run: (h) => {
      established(h);
      sealed(h, mutate.truncate(nst()));
    },
  },
  {
    name: "NewSessionTicket padded",
    alert: A.decode_error,
    run: (h) => {
      established(h);
      sealed(h, mutate.pad(nst()));
    },
  },
  // ticket<1..2^16-1>.
  {
    name: "NewSessionTicket with an empty ticket",
    alert: A.decode_error,
    run: (h) => {
      established(h);
      sealed(h, nst(zeros(0)));
    },
  },
  {
    name: "NewSessionTicket with duplicate extensions",
    alert: A.decode_error,
    run: (h) => {
      established(h);
      sealed(h, nst(zeros(8), vec16(u16(42), vec16(u32(1)), u16(42), vec16(u32(1)))));
    },
  },
  {
    name: "NewSessionTicket flood (no application data between)",
    alert: A.unexpected_message,
    run: (h) => {
      established(h);
      for (let i = 0; i < 1000 && h.v.errors.length === 0; i++) sealed(h, nst());
      assert.ok(h.v.sessions.length <= 64, `sessions kept: ${h.v.sessions.length}`);
    },
  },
  {
    name: "KeyUpdate with request_update 2",
    alert: A.illegal_parameter,
    run: (h) => {
      established(h);
      sealed(h, hs(24, u8(2)));
    },
  },
  {
    name: "KeyUpdate empty",
    alert: A.decode_error,
    run: (h) => {
      established(h);
      sealed(h, hs(24));
    },
  },
  {
    name: "KeyUpdate flood with update_requested",
    alert: A.unexpected_message,
    run: (h) => {
      established(h);
      for (let i = 0; i < 1000 && h.v.errors.length === 0; i++) {
        sealed(h, hs(24, u8(1)));
        h.s.updateWriteKeys();
        h.s.updateReadKeys();
      }
    },
  },
  {
    name: "data under old keys after KeyUpdate",
    alert: A.bad_record_mac,
    run: (h) => {
      established(h);
      sealed(h, hs(24, u8(0)));
      h.v.send(h.wire.rec(23, text("x")));
    },
  },
  // §4.6.2: no post_handshake_auth offered -> a CertificateRequest is unexpected_message.
  {
    name: "post-handshake CertificateRequest",
    alert: A.unexpected_message,
    run: (h) => {
      established(h);
      sealed(h, hs(13, vec8(u8(1)), vec16(u16(13), vec16(list16([0x0403])))));
    },
  },
  {
    name: "HelloRequest (no renegotiation in TLS 1.3)",
    alert: A.unexpected_message,
    run: (h) => {
      established(h);
      sealed(h, hs(0));
    },
  },
  {
    name: "a second ServerHello",
    alert: A.unexpected_message,
    run: (h) => {
      established(h);
      sealed(h, h.s.serverHello());
    },
  },
  {
    name: "EncryptedExtensions again",
    alert: A.unexpected_message,
    run: (h) => {
      established(h);
      sealed(h, hs(8, vec16()));
    },
  },
  {
    name: "ChangeCipherSpec after the handshake",
    alert: A.unexpected_message,
    run: (h) => {
      established(h);
      h.v.send(record(20, u8(1)));
    },
  },
  {
    name: "empty application data flood",
    alert: A.unexpected_message,
    run: (h) => {
      established(h);
      h.v.send(...Array.from({ length: 100 }, () => h.wire.rec(23, zeros(0))));
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
    name: "user_canceled flood",
    alert: A.unexpected_message,
    run: (h) => {
      established(h);
      h.v.send(...Array.from({ length: 100 }, () => h.wire.rec(21, Uint8Array.of(1, 90))));
    },
  },
  {
    name: "inner plaintext of 2^14 + 2 bytes",
    alert: A.record_overflow,
    run: (h) => {
      established(h);
      h.v.send(h.wire.rec(23, zeros(16385)));
    },
  },
  {
    name: "ciphertext of 2^14 + 257 bytes",
    alert: A.record_overflow,
    run: (h) => {
      established(h);
      h.v.send(record(23, zeros(16384 + 257)));
    },
  },
]);

test("1.3 client: NewSessionTickets with unknown and GREASE extensions are accepted (§4.6.1)", () => {
  const h = hostileServer13();
  established(h);
  sealed(h, nst(zeros(16), vec16(u16(0x5555), vec16(), u16(grease(7)), vec16(u8(1)))));
  h.v.send(h.wire.rec(23, text("ok")));
  h.v.expectAlive();
  assert.equal(h.v.sessions.length, 1);
});

test("1.3 client: tickets and KeyUpdates between data records are fine", () => {
  const h = hostileServer13();
  established(h);
  for (let i = 0; i < 100; i++) {
    sealed(h, nst(), hs(24, u8(0)));
    h.s.updateWriteKeys();
    h.v.send(h.wire.rec(23, text(`m${i}`)));
  }
  h.v.expectAlive();
  assert.equal(h.v.data.length, 100);
});

// Unused helper guard: the extension-edit helpers are all exercised somewhere.
void chain;
void encodeExts;
void AES128;

// RFC 8446 §5 / Appendix D.4: a middlebox-compatible server sends a ChangeCipherSpec right after its
// HelloRetryRequest; the client drops it and the handshake goes on.
test("1.3 client: HelloRetryRequest, compat ChangeCipherSpec, then the handshake completes", () => {
  const h = hostileServer13({ keyShareGroups: ["P-256"] });
  h.s.readHello();
  h.v.send(h.wire.plain(22, h.s.helloRetry(X25519)), record(20, u8(1)));
  h.v.expectAlive();
  h.s.readHello();
  const sh = h.s.serverHello();
  h.s.handshakeKeys();
  const ee = h.s.encryptedExtensions();
  const cert = h.s.certificate();
  const cv = h.s.certificateVerify();
  const fin = h.s.finished();
  h.v.send(h.wire.plain(22, sh));
  sealed(h, ee, cert, cv, fin);
  h.s.appKeys();
  h.wire.next(20);
  h.v.expectAlive();
  assert.equal(h.v.handshakes, 1);
});
