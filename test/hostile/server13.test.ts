import assert from "node:assert/strict";
import { test } from "node:test";
import { AlertDescription as A } from "../../src/alert.js";
import { ServerConfig } from "../../src/config.js";
import type { ContentType } from "../../src/constants.js";
import { demo } from "../unit/pair.js";
import { cat, grease, hs, list16, mutate, record, text, u8, u16, vec8, vec16, zeros } from "./bytes.js";
import { add, chain, drop, dup, front, set, table } from "./cases.js";
import { AES128, ECDSA_P256, encodeExts, HRR_RANDOM, P256, randomProtection, X25519 } from "./script13.js";
import { hostileClient13 } from "./setup.js";

/**
 * A hostile TLS 1.3 client against our ServerConnection: every message of the client's two
 * flights mangled, and post-handshake abuse. Alerts per RFC 8446 §6.2 and the section cited.
 */

type H = ReturnType<typeof hostileClient13>;
const ch = (h: H, o: Parameters<H["c"]["hello"]>[0] = {}) => h.v.send(h.wire.plain(22, h.c.hello(o)));
/** ClientHello sent and the server's flight read: the server waits for the client Finished. */
function toFinished(h: H): void {
  ch(h);
  h.c.readServerHello();
  h.c.readServerFlight();
}
/** The handshake done; the script writes under the client application keys. */
function established(h: H): void {
  toFinished(h);
  h.v.send(h.wire.rec(22, h.c.finished()));
  h.c.useAppKeys();
  h.v.expectAlive();
}
const share = (g: number, k: Uint8Array) => cat(u16(g), vec16(k));
const x25519 = (h: H) => share(X25519, h.c.share.publicKey);

// ---- ClientHello ---------------------------------------------------------------------------------

table("1.3 server, ClientHello", hostileClient13, [
  // RFC 8446 §6.2 decode_error: "the length of the message was incorrect".
  {
    name: "truncated by one byte",
    alert: A.decode_error,
    run: (h) => h.v.send(h.wire.plain(22, mutate.truncate(h.c.hello()))),
  },
  {
    name: "truncated inside the random",
    alert: A.decode_error,
    run: (h) => h.v.send(h.wire.plain(22, hs(1, u16(0x0303), zeros(20)))),
  },
  { name: "empty body", alert: A.decode_error, run: (h) => h.v.send(h.wire.plain(22, hs(1))) },
  {
    name: "padded with a trailing byte",
    alert: A.decode_error,
    run: (h) => h.v.send(h.wire.plain(22, mutate.pad(h.c.hello()))),
  },
  {
    name: "extensions block length overflows the message",
    alert: A.decode_error,
    run: (h) => {
      const block = encodeExts(h.c.defaultExts());
      ch(h, { extBlock: cat(u16(block.length + 5), block.subarray(2)) });
    },
  },
  {
    name: "one extension's length overflows the block",
    alert: A.decode_error,
    run: (h) => {
      const body = cat(u16(0x1234), u16(40), zeros(3));
      ch(h, { extBlock: cat(encodeExts(h.c.defaultExts()).subarray(0, 0), vec16(body)) });
    },
  },
  {
    name: "key_share list length overflows the extension",
    alert: A.decode_error,
    run: (h) => ch(h, { exts: set(51, cat(u16(200), x25519(h))) }),
  },
  {
    name: "key_share entry length overflows the list",
    alert: A.decode_error,
    run: (h) => ch(h, { exts: set(51, vec16(u16(X25519), u16(33), h.c.share.publicKey)) }),
  },
  {
    name: "session id length overflows the message",
    alert: A.decode_error,
    run: (h) => h.v.send(h.wire.plain(22, hs(1, u16(0x0303), zeros(32), u8(40), zeros(10)))),
  },
  // RFC 8446 §4.1.2: legacy_session_id<0..32>; a longer one is out of range.
  { name: "33-byte session id", alert: A.illegal_parameter, run: (h) => ch(h, { sessionId: zeros(33) }) },
  // Forbidden zero-length vectors: the RFC's minimum lengths (cipher_suites<2..2^16-2> etc.) make them undecodable.
  { name: "empty cipher_suites", alert: A.decode_error, run: (h) => ch(h, { suites: [] }) },
  {
    name: "odd-length cipher_suites",
    alert: A.decode_error,
    run: (h) => ch(h, { extBlock: new Uint8Array(0), suites: [] }),
  },
  { name: "empty compression_methods", alert: A.decode_error, run: (h) => ch(h, { compression: [] }) },
  { name: "empty supported_groups", alert: A.decode_error, run: (h) => ch(h, { exts: set(10, vec16()) }) },
  {
    name: "empty signature_algorithms",
    alert: A.decode_error,
    run: (h) => ch(h, { exts: set(13, vec16()) }),
  },
  { name: "empty supported_versions", alert: A.decode_error, run: (h) => ch(h, { exts: set(43, vec8()) }) },
  {
    name: "key_share entry with empty key_exchange",
    alert: A.decode_error,
    run: (h) => ch(h, { exts: set(51, vec16(share(X25519, zeros(0)))) }),
  },
  { name: "empty ALPN list", alert: A.decode_error, run: (h) => ch(h, { exts: add([16, vec16()]) }) },
  {
    name: "empty ALPN protocol name",
    alert: A.decode_error,
    run: (h) => ch(h, { exts: add([16, vec16(vec8(text("h2")), vec8())]) }),
  },
  {
    name: "empty SNI host_name",
    alert: A.decode_error,
    run: (h) => ch(h, { exts: set(0, vec16(u8(0), vec16())) }),
  },
  { name: "empty SNI server_name_list", alert: A.decode_error, run: (h) => ch(h, { exts: set(0, vec16()) }) },
  {
    name: "empty psk_key_exchange_modes (with a PSK offered)",
    alert: A.decode_error,
    run: (h) =>
      ch(h, {
        exts: add([45, vec8()], [41, cat(vec16(cat(vec16(zeros(8)), zeros(4))), vec16(vec8(zeros(32))))]),
      }),
  },
  // RFC 8446 §4.2 forbids duplicates but names no alert; a block with two of one type does not
  // decode as the set the RFC describes: decode_error.
  { name: "duplicate supported_groups", alert: A.decode_error, run: (h) => ch(h, { exts: dup(10) }) },
  { name: "duplicate key_share", alert: A.decode_error, run: (h) => ch(h, { exts: dup(51) }) },
  {
    name: "duplicate unknown extension",
    alert: A.decode_error,
    run: (h) => ch(h, { exts: add([0x5555, u8(1)], [0x5555, u8(2)]) }),
  },
  // §4.1.2: "any other value [of legacy_compression_methods]... MUST abort ... illegal_parameter".
  { name: "compression methods [1]", alert: A.illegal_parameter, run: (h) => ch(h, { compression: [1] }) },
  {
    name: "compression methods [0, 1]",
    alert: A.illegal_parameter,
    run: (h) => ch(h, { compression: [0, 1] }),
  },
  // §4.1.1: no overlap in parameters -> handshake_failure.
  {
    name: "only unknown cipher suites",
    alert: A.handshake_failure,
    run: (h) => ch(h, { suites: [0x1305, 0x13ff, grease(1)] }),
  },
  {
    name: "unknown group as the only share and the only supported group",
    alert: A.handshake_failure,
    run: (h) => ch(h, { exts: chain(set(10, list16([0x7777])), set(51, vec16(share(0x7777, zeros(32))))) }),
  },
  // §4.2.8: shares for groups not in supported_groups: "Servers MAY check ... illegal_parameter" (we do).
  {
    name: "key share for a group missing from supported_groups",
    alert: A.illegal_parameter,
    run: (h) => ch(h, { exts: set(10, list16([P256])) }),
  },
  // §4.2.8.2 / RFC 7748: a public value of the wrong size is invalid -> illegal_parameter.
  {
    name: "31-byte x25519 share",
    alert: A.illegal_parameter,
    run: (h) => ch(h, { exts: set(51, vec16(share(X25519, zeros(31)))) }),
  },
  // §7.4.2: an all-zero X25519 shared secret must be refused.
  {
    name: "all-zero x25519 share",
    alert: A.illegal_parameter,
    run: (h) => ch(h, { exts: set(51, vec16(share(X25519, zeros(32)))) }),
  },
  {
    name: "P-256 share that is not on the curve",
    alert: A.illegal_parameter,
    run: (h) =>
      ch(h, { exts: chain(set(10, list16([P256])), set(51, vec16(share(P256, cat(u8(4), zeros(64)))))) }),
  },
  // §9.2: mandatory-to-send extensions missing.
  { name: "no key_share (no PSK)", alert: A.missing_extension, run: (h) => ch(h, { exts: drop(51) }) },
  { name: "no supported_groups", alert: A.missing_extension, run: (h) => ch(h, { exts: drop(10) }) },
  { name: "no signature_algorithms", alert: A.missing_extension, run: (h) => ch(h, { exts: drop(13) }) },
  // §4.2.1: supported_versions naming only versions we do not know.
  {
    name: "supported_versions with only future versions",
    alert: A.protocol_version,
    run: (h) => ch(h, { exts: set(43, vec8(u16(0x0305), u16(0x7f7f))) }),
  },
  {
    name: "supported_versions with only GREASE",
    alert: A.protocol_version,
    run: (h) => ch(h, { exts: set(43, vec8(u16(grease(3)))) }),
  },
  // RFC 7568: SSL 3.0 is refused with protocol_version.
  {
    name: "SSLv3 only in supported_versions",
    alert: A.protocol_version,
    run: (h) => ch(h, { exts: set(43, vec8(u16(0x0300))) }),
  },
  // §4.2.11: pre_shared_key must be the last extension: illegal_parameter.
  {
    name: "pre_shared_key not last",
    alert: A.illegal_parameter,
    run: (h) =>
      ch(h, {
        exts: chain(
          add([45, vec8(u8(1))]),
          front([41, cat(vec16(vec16(zeros(8)), zeros(4)), vec16(vec8(zeros(32))))]),
        ),
      }),
  },
  // §4.2.9: pre_shared_key without psk_key_exchange_modes: missing_extension.
  {
    name: "pre_shared_key without psk_key_exchange_modes",
    alert: A.missing_extension,
    run: (h) =>
      ch(h, { exts: add([41, cat(vec16(cat(vec16(zeros(8)), zeros(4))), vec16(vec8(zeros(32))))]) }),
  },
  {
    name: "pre_shared_key with more binders than identities",
    alert: A.illegal_parameter,
    run: (h) =>
      ch(h, {
        exts: add(
          [45, vec8(u8(1))],
          [41, cat(vec16(cat(vec16(zeros(8)), zeros(4))), vec16(vec8(zeros(32)), vec8(zeros(32))))],
        ),
      }),
  },
  // RFC 8446 §4: a first message that is not a ClientHello.
  {
    name: "Finished instead of ClientHello",
    alert: A.unexpected_message,
    run: (h) => h.v.send(h.wire.plain(22, hs(20, zeros(32)))),
  },
  {
    name: "unknown handshake type 99",
    alert: A.unexpected_message,
    run: (h) => h.v.send(h.wire.plain(22, hs(99, zeros(4)))),
  },
  {
    name: "ServerHello sent to a server",
    alert: A.unexpected_message,
    run: (h) => h.v.send(h.wire.plain(22, mutate.retype(h.c.hello(), 2))),
  },
]);

// ---- record layer before and around the ClientHello ------------------------------------------------

table("1.3 server, records", hostileClient13, [
  // RFC 6176 / RFC 7568: SSL 2.0 CLIENT-HELLO (RFC 5246 Appendix E.2 format) refused.
  {
    name: "SSLv2-format ClientHello",
    alert: A.protocol_version,
    run: (h) =>
      h.v.send(
        cat(Uint8Array.of(0x80, 0x2e, 0x01, 0x03, 0x01, 0, 0x15, 0, 0, 0, 0x10), zeros(0x15), zeros(16)),
      ),
  },
  // RFC 7568 §3: SSLv3 ClientHello (record and hello version 3.0, no supported_versions).
  {
    name: "SSLv3 ClientHello",
    alert: A.protocol_version,
    run: (h) => h.v.send(record(22, h.c.hello({ legacyVersion: 0x0300, exts: drop(43, 51) }), 0x0300)),
  },
  {
    name: "record version 2.0",
    alert: A.protocol_version,
    run: (h) => h.v.send(record(22, h.c.hello(), 0x0200)),
  },
  // RFC 8446 §5: unknown record type -> unexpected_message.
  { name: "unknown record type 25", alert: A.unexpected_message, run: (h) => h.v.send(record(25, zeros(4))) },
  {
    name: "heartbeat record type 24",
    alert: A.unexpected_message,
    run: (h) => h.v.send(record(24, zeros(4))),
  },
  // RFC 8446 §5.1: TLSPlaintext.length > 2^14 -> record_overflow.
  {
    name: "plaintext record of 2^14 + 1 bytes",
    alert: A.record_overflow,
    run: (h) => h.v.send(record(22, zeros(16385))),
  },
  {
    name: "record header claiming 65535 bytes",
    alert: A.record_overflow,
    run: (h) => h.v.send(Uint8Array.of(22, 3, 1, 0xff, 0xff)),
  },
  // §5.1: zero-length handshake fragments are forbidden; no alert named: unexpected_message.
  { name: "empty handshake record", alert: A.unexpected_message, run: (h) => h.v.send(record(22, zeros(0))) },
  {
    name: "application data before the handshake",
    alert: A.unexpected_message,
    run: (h) => h.v.send(record(23, text("GET /"))),
  },
  {
    name: "empty application data before the handshake",
    alert: A.unexpected_message,
    run: (h) => h.v.send(record(23, zeros(0))),
  },
  // §5: a change_cipher_spec "before the first ClientHello" is an unexpected record.
  {
    name: "ChangeCipherSpec before ClientHello",
    alert: A.unexpected_message,
    run: (h) => h.v.send(record(20, u8(1))),
  },
  // RFC 8446 §6 / RFC 5246 §7.2: an alert is two bytes.
  {
    name: "three-byte alert",
    alert: A.decode_error,
    run: (h) => h.v.send(record(21, Uint8Array.of(1, 0, 0))),
  },
  { name: "one-byte alert", alert: A.decode_error, run: (h) => h.v.send(record(21, Uint8Array.of(1))) },
  // A handshake message split over records may not be interleaved with other content (§5.1).
  {
    name: "alert inside a fragmented ClientHello",
    alert: A.unexpected_message,
    run: (h) => {
      const m = h.c.hello();
      h.v.send(record(22, m.subarray(0, 20)), record(21, Uint8Array.of(1, 90)));
    },
  },
  {
    name: "ChangeCipherSpec inside a fragmented ClientHello",
    alert: A.unexpected_message,
    run: (h) => {
      const m = h.c.hello();
      h.v.send(record(22, m.subarray(0, 20)), record(20, u8(1)));
    },
  },
  // Warning floods: nothing in the RFC caps them; endless warnings are an attack (unexpected_message).
  {
    name: "warning-alert flood before the ClientHello",
    alert: A.unexpected_message,
    run: (h) => {
      for (let i = 0; i < 50; i++) h.v.send(record(21, Uint8Array.of(1, 100)));
    },
  },
  // A handshake message longer than we accept: no alert is named; illegal_parameter ("a field ...
  // out of range") for the length field.
  {
    name: "16 MiB ClientHello announced",
    alert: A.illegal_parameter,
    run: (h) => h.v.send(record(22, cat(u8(1), Uint8Array.of(0xff, 0xff, 0xff)))),
  },
]);

// ---- the client's second flight -------------------------------------------------------------------

table("1.3 server, client Finished", hostileClient13, [
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
  {
    name: "empty",
    alert: A.decode_error,
    run: (h) => {
      toFinished(h);
      h.v.send(h.wire.rec(22, hs(20)));
    },
  },
  // §4.4.4: wrong verify_data -> decrypt_error.
  {
    name: "wrong verify_data",
    alert: A.decrypt_error,
    run: (h) => {
      toFinished(h);
      h.v.send(h.wire.rec(22, hs(20, zeros(32))));
    },
  },
  // §5.1: handshake messages may not span a key change: two Finished in one record leave data over.
  {
    name: "duplicated in the same record",
    alert: A.unexpected_message,
    run: (h) => {
      toFinished(h);
      h.v.send(h.wire.rec(22, cat(h.c.finished(), h.c.finished())));
    },
  },
  {
    name: "duplicated in the next record (now under the wrong keys)",
    alert: A.bad_record_mac,
    run: (h) => {
      toFinished(h);
      h.v.send(h.wire.rec(22, h.c.finished()), h.wire.rec(22, h.c.finished()));
    },
  },
  // Wrong epoch: plaintext where the handshake keys are required (§5: unexpected record type).
  {
    name: "in plaintext",
    alert: A.unexpected_message,
    run: (h) => {
      toFinished(h);
      h.v.send(h.wire.plain(22, h.c.finished()));
    },
  },
  // Wrong epoch: sealed under keys the server does not expect (§5.2: bad_record_mac).
  {
    name: "under the application keys",
    alert: A.bad_record_mac,
    run: (h) => {
      toFinished(h);
      h.c.useAppKeys();
      h.v.send(h.wire.rec(22, h.c.finished()));
    },
  },
  {
    name: "under random keys",
    alert: A.bad_record_mac,
    run: (h) => {
      toFinished(h);
      h.wire.writer = randomProtection();
      h.v.send(h.wire.rec(22, h.c.finished()));
    },
  },
  {
    name: "a second ClientHello instead",
    alert: A.unexpected_message,
    run: (h) => {
      toFinished(h);
      h.v.send(h.wire.rec(22, h.c.hello()));
    },
  },
  {
    name: "an unsolicited Certificate first",
    alert: A.unexpected_message,
    run: (h) => {
      toFinished(h);
      h.v.send(h.wire.rec(22, hs(11, vec8(), u8(0), u16(0))));
    },
  },
  {
    name: "EndOfEarlyData without early data",
    alert: A.unexpected_message,
    run: (h) => {
      toFinished(h);
      h.v.send(h.wire.rec(22, hs(5)));
    },
  },
  {
    name: "KeyUpdate before Finished",
    alert: A.unexpected_message,
    run: (h) => {
      toFinished(h);
      h.v.send(h.wire.rec(22, hs(24, u8(0))));
    },
  },
  {
    name: "application data before Finished",
    alert: A.unexpected_message,
    run: (h) => {
      toFinished(h);
      h.v.send(h.wire.rec(23, text("early?")));
    },
  },
  // §5: "any other change_cipher_spec value ... MUST abort ... unexpected_message".
  {
    name: "ChangeCipherSpec of value 2",
    alert: A.unexpected_message,
    run: (h) => {
      toFinished(h);
      h.v.send(record(20, u8(2)));
    },
  },
  {
    name: "ChangeCipherSpec of two bytes",
    alert: A.unexpected_message,
    run: (h) => {
      toFinished(h);
      h.v.send(record(20, Uint8Array.of(1, 1)));
    },
  },
  {
    name: "two ChangeCipherSpecs",
    alert: A.unexpected_message,
    run: (h) => {
      toFinished(h);
      h.v.send(record(20, u8(1)), record(20, u8(1)));
    },
  },
  // "... or which receives a protected change_cipher_spec record".
  {
    name: "protected ChangeCipherSpec",
    alert: A.unexpected_message,
    run: (h) => {
      toFinished(h);
      h.v.send(h.wire.rec(20, u8(1)));
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
  // §5.4: no non-zero octet in the plaintext -> unexpected_message.
  {
    name: "record of only padding",
    alert: A.unexpected_message,
    run: (h) => {
      toFinished(h);
      const p = h.wire.writer!;
      h.v.send(p.sealRecord(0 as ContentType, 0x0303, zeros(40)));
    },
  },
  {
    name: "unknown inner content type",
    alert: A.unexpected_message,
    run: (h) => {
      toFinished(h);
      h.v.send(h.wire.rec(25, zeros(3)));
    },
  },
  // §5.2: TLSInnerPlaintext over 2^14 + 1 -> record_overflow; a ciphertext over 2^14 + 256 too.
  {
    name: "inner plaintext of 2^14 + 2 bytes",
    alert: A.record_overflow,
    run: (h) => {
      toFinished(h);
      h.v.send(h.wire.rec(22, zeros(16385)));
    },
  },
  {
    name: "ciphertext of 2^14 + 257 bytes",
    alert: A.record_overflow,
    run: (h) => {
      toFinished(h);
      h.v.send(record(23, zeros(16384 + 257)));
    },
  },
  // RFC 8446 §5.2 AEAD failure.
  {
    name: "one bit flipped in the sealed Finished",
    alert: A.bad_record_mac,
    run: (h) => {
      toFinished(h);
      const r = h.wire.rec(22, h.c.finished());
      r[10]! ^= 1;
      h.v.send(r);
    },
  },
  {
    name: "sealed record shorter than the tag",
    alert: A.bad_record_mac,
    run: (h) => {
      toFinished(h);
      h.v.send(record(23, zeros(10)));
    },
  },
  {
    name: "warning-alert flood during the handshake (user_canceled)",
    alert: A.unexpected_message,
    run: (h) => {
      toFinished(h);
      for (let i = 0; i < 50; i++) h.v.send(h.wire.rec(21, Uint8Array.of(1, 90)));
    },
  },
]);

// ---- after the handshake --------------------------------------------------------------------------

table("1.3 server, post-handshake", hostileClient13, [
  // §4.6.3: request_update other than 0 or 1 -> illegal_parameter.
  {
    name: "KeyUpdate with request_update 2",
    alert: A.illegal_parameter,
    run: (h) => {
      established(h);
      h.v.send(h.wire.rec(22, hs(24, u8(2))));
    },
  },
  {
    name: "KeyUpdate empty",
    alert: A.decode_error,
    run: (h) => {
      established(h);
      h.v.send(h.wire.rec(22, hs(24)));
    },
  },
  {
    name: "KeyUpdate padded",
    alert: A.decode_error,
    run: (h) => {
      established(h);
      h.v.send(h.wire.rec(22, hs(24, u8(0), u8(0))));
    },
  },
  // §4.6.3 / §5.1: after KeyUpdate the old keys are gone.
  {
    name: "data under the old keys after KeyUpdate",
    alert: A.bad_record_mac,
    run: (h) => {
      established(h);
      h.v.send(h.wire.rec(22, hs(24, u8(0))), h.wire.rec(23, text("old keys")));
    },
  },
  // §5.1: a KeyUpdate must be the last message before the key change.
  {
    name: "KeyUpdate followed by a fragment in the same record",
    alert: A.unexpected_message,
    run: (h) => {
      established(h);
      h.v.send(h.wire.rec(22, cat(hs(24, u8(0)), u8(24))));
    },
  },
  {
    name: "KeyUpdate flood with update_requested",
    alert: A.unexpected_message,
    run: (h) => {
      established(h);
      for (let i = 0; i < 200 && h.v.errors.length === 0; i++) {
        h.v.send(h.wire.rec(22, hs(24, u8(1))));
        h.c.updateWriteKeys();
        h.c.updateReadKeys();
      }
    },
  },
  // RFC 8446 has no renegotiation: a ClientHello after the handshake is unexpected.
  {
    name: "renegotiation ClientHello",
    alert: A.unexpected_message,
    run: (h) => {
      established(h);
      h.v.send(h.wire.rec(22, h.c.hello()));
    },
  },
  {
    name: "NewSessionTicket from the client",
    alert: A.unexpected_message,
    run: (h) => {
      established(h);
      h.v.send(h.wire.rec(22, hs(4, zeros(13))));
    },
  },
  {
    name: "HelloRequest (TLS 1.2 only)",
    alert: A.unexpected_message,
    run: (h) => {
      established(h);
      h.v.send(h.wire.rec(22, hs(0)));
    },
  },
  {
    name: "Finished again",
    alert: A.unexpected_message,
    run: (h) => {
      established(h);
      h.v.send(h.wire.rec(22, hs(20, zeros(32))));
    },
  },
  // §5: a change_cipher_spec after the peer's Finished is an unexpected record.
  {
    name: "ChangeCipherSpec after the handshake",
    alert: A.unexpected_message,
    run: (h) => {
      established(h);
      h.v.send(record(20, u8(1)));
    },
  },
  {
    name: "plaintext application data",
    alert: A.unexpected_message,
    run: (h) => {
      established(h);
      h.v.send(record(22, hs(24, u8(0))));
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
    name: "user_canceled warning flood",
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
]);

test("1.3 server: a warning-level alert other than user_canceled is fatal (RFC 8446 §6)", () => {
  const h = hostileClient13();
  established(h);
  h.v.send(h.wire.rec(21, Uint8Array.of(1, A.no_renegotiation)));
  assert.equal(h.v.errors.length, 1);
  assert.equal(h.v.errors[0]!.sentBy, "peer");
  assert.equal(h.v.errors[0]!.alert, A.no_renegotiation);
  assert.equal(h.v.conn.connectionState, "closed");
  assert.equal(h.wire.alerts().length, 0, "no alert is sent back");
});

test("1.3 server: a few user_canceled warnings and empty records are tolerated", () => {
  const h = hostileClient13();
  established(h);
  for (let i = 0; i < 4; i++) h.v.send(h.wire.rec(21, Uint8Array.of(1, 90)), h.wire.rec(23, zeros(0)));
  h.v.send(h.wire.rec(23, text("still here")));
  h.v.expectAlive();
  assert.equal(new TextDecoder().decode(h.v.data[0]), "still here");
});

test("1.3 server: KeyUpdates interleaved with data are fine", () => {
  const h = hostileClient13();
  established(h);
  for (let i = 0; i < 100; i++) {
    h.v.send(h.wire.rec(22, hs(24, u8(1))));
    h.c.updateWriteKeys();
    h.c.updateReadKeys();
    h.v.send(h.wire.rec(23, text(`m${i}`)));
  }
  h.v.expectAlive();
  assert.equal(h.v.data.length, 100);
});

// ---- GREASE (RFC 8701) and version intolerance ------------------------------------------------------

test("1.3 server ignores GREASE everywhere in the ClientHello (RFC 8701 §3)", () => {
  const h = hostileClient13();
  const g = (i: number) => u16(grease(i));
  h.v.send(
    h.wire.plain(
      22,
      h.c.hello({
        suites: [grease(0), AES128, grease(1)],
        exts: (d) => [
          [grease(2), new Uint8Array(0)],
          ...chain(
            set(10, list16([grease(3), X25519, P256])),
            set(13, list16([grease(4), ECDSA_P256, 0x0804])),
            set(43, vec8(g(5), u16(0x0304))),
            set(51, vec16(share(grease(3), u8(0)), share(X25519, h.c.share.publicKey))),
            add([16, vec16(vec8(Uint8Array.of(0x1a, 0x1a)), vec8(text("http/1.1")))]),
            add([45, vec8(u8(grease(6) & 0xff), u8(1))]),
          )(d),
          [grease(7), u8(0)],
        ],
      }),
    ),
  );
  const sh = h.c.readServerHello();
  h.c.readServerFlight();
  h.v.send(h.wire.rec(22, h.c.finished()));
  h.v.expectAlive();
  assert.equal(h.v.handshakes, 1);
  // The server chose real values: AES-128-GCM and x25519.
  const sid = sh[4 + 34]!;
  assert.equal((sh[4 + 35 + sid]! << 8) | sh[4 + 36 + sid]!, AES128);
});

test("1.3 server answers an unknown-group-only key_share with a HelloRetryRequest, then completes", () => {
  const h = hostileClient13();
  const ch1 = h.c.hello({
    exts: chain(set(10, list16([0x7777, X25519])), set(51, vec16(share(0x7777, zeros(32))))),
  });
  h.c.rememberFirst(ch1);
  h.v.send(h.wire.plain(22, ch1));
  const hrr = h.wire.next(2);
  assert.deepEqual(hrr.subarray(6, 38), HRR_RANDOM);
  h.c.retried(hrr);
  h.v.send(h.wire.plain(22, h.c.hello()));
  h.c.readServerHello();
  h.c.readServerFlight();
  h.v.send(h.wire.rec(22, h.c.finished()));
  h.v.expectAlive();
  assert.equal(h.v.handshakes, 1);
});

/** After a HelloRetryRequest, a second ClientHello that breaks §4.1.2. */
function afterHrr(h: H): void {
  const ch1 = h.c.hello({ exts: set(51, vec16()) });
  h.c.rememberFirst(ch1);
  h.v.send(h.wire.plain(22, ch1));
  const hrr = h.wire.next(2);
  assert.deepEqual(hrr.subarray(6, 38), HRR_RANDOM);
  h.c.retried(hrr);
}
table("1.3 server, second ClientHello", hostileClient13, [
  // §4.1.2 / §4.2.8: the share must be for the group the HRR selected.
  {
    name: "still no key share",
    alert: A.illegal_parameter,
    run: (h) => {
      afterHrr(h);
      ch(h, { exts: set(51, vec16()) });
    },
  },
  {
    name: "share for another group",
    alert: A.illegal_parameter,
    run: (h) => {
      afterHrr(h);
      ch(h, { exts: set(51, vec16(share(P256, cat(u8(4), zeros(64))))) });
    },
  },
  {
    name: "other cipher suites",
    alert: A.illegal_parameter,
    run: (h) => {
      afterHrr(h);
      ch(h, { suites: [0x1302] });
    },
  },
  {
    name: "no TLS 1.3 offered",
    alert: A.illegal_parameter,
    run: (h) => {
      afterHrr(h);
      ch(h, { exts: set(43, vec8(u16(0x0303))) });
    },
  },
  // §4.1.4: a third ClientHello (the server only sends one HRR) -> unexpected_message.
  {
    name: "a third ClientHello",
    alert: A.unexpected_message,
    run: (h) => {
      afterHrr(h);
      h.v.send(h.wire.plain(22, h.c.hello()));
      h.c.readServerHello();
      h.c.readServerFlight();
      h.v.send(h.wire.plain(22, h.c.hello()));
    },
  },
  {
    name: "truncated",
    alert: A.decode_error,
    run: (h) => {
      afterHrr(h);
      h.v.send(h.wire.plain(22, mutate.truncate(h.c.hello())));
    },
  }, // §4.2.10: "A client MUST NOT include the early_data extension in its followup ClientHello" (as Go and rustls refuse it).
  {
    name: "early_data in the second ClientHello",
    alert: A.illegal_parameter,
    run: (h) => {
      afterHrr(h);
      ch(h, { exts: add([42, new Uint8Array(0)]) });
    },
  },
]);

table("1.3 server, strict framing and vectors", hostileClient13, [
  // §4.2.9: PskKeyExchangeMode ke_modes<1..255>: empty is decode_error, with or without a PSK.
  {
    name: "empty psk_key_exchange_modes without a PSK",
    alert: A.decode_error,
    run: (h) => ch(h, { exts: add([45, vec8(new Uint8Array(0))]) }),
  },
  // §5.1: no record of another type between the records of one handshake message, not even the
  // middlebox-compatibility ChangeCipherSpec.
  {
    name: "compatibility ChangeCipherSpec between two halves of the ClientHello",
    alert: A.unexpected_message,
    run: (h) => {
      const hello = h.c.hello();
      const cut = 40;
      h.v.send(record(22, hello.subarray(0, cut)), record(20, u8(1)), record(22, hello.subarray(cut)));
    },
  },
  {
    name: "compatibility ChangeCipherSpec between two halves of the client Finished",
    alert: A.unexpected_message,
    run: (h) => {
      toFinished(h);
      const fin = h.c.finished();
      h.v.send(h.wire.rec(22, fin.subarray(0, 10)), record(20, u8(1)), h.wire.rec(22, fin.subarray(10)));
    },
  },
]);

// A server that only does 1.3 must refuse a client without supported_versions.
test("1.3-only server refuses a TLS 1.2 ClientHello with protocol_version", () => {
  const h = hostileClient13(new ServerConfig({ cert: demo.cert, key: demo.key, minVersion: "TLSv1.3" }));
  ch(h, { exts: drop(43) });
  h.v.expectFatal(A.protocol_version);
});

// RFC 8446 Appendix A.1: the client's sending keys become the handshake keys only after the
// server Finished, so a client that rejects our flight alerts in plaintext: that is the peer's alert.
test("1.3 server: a plaintext alert from the client after our flight is the client's alert", () => {
  const h = hostileClient13();
  toFinished(h);
  h.v.send(record(21, Uint8Array.of(2, A.bad_certificate)));
  assert.equal(h.v.errors.length, 1);
  assert.equal(h.v.errors[0]!.sentBy, "peer");
  assert.equal(h.v.errors[0]!.alert, A.bad_certificate);
  assert.equal(h.v.conn.connectionState, "closed");
  assert.deepEqual(h.wire.alerts(), [], "no alert is sent back");
});

table("1.3 server, plaintext alerts once the client writes sealed", hostileClient13, [
  {
    name: "after the client Finished",
    alert: A.unexpected_message,
    run: (h) => {
      established(h);
      h.v.send(record(21, Uint8Array.of(2, A.bad_certificate)));
    },
  },
  {
    name: "after a sealed warning during the handshake",
    alert: A.unexpected_message,
    run: (h) => {
      toFinished(h);
      h.v.send(
        h.wire.rec(21, Uint8Array.of(1, A.user_canceled)),
        record(21, Uint8Array.of(2, A.bad_certificate)),
      );
    },
  },
]);

// Appendix D.4: a middlebox-compatible client sends its ChangeCipherSpec before the second ClientHello.
test("1.3 server: HelloRetryRequest, the client's compat ChangeCipherSpec, second ClientHello: completes", () => {
  const h = hostileClient13();
  afterHrr(h);
  h.v.send(record(20, u8(1)));
  ch(h);
  h.c.readServerHello();
  h.c.readServerFlight();
  h.v.send(h.wire.rec(22, h.c.finished()));
  h.v.expectAlive();
  assert.equal(h.v.handshakes, 1);
});
