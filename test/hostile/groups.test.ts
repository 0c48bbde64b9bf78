import { ml_kem768 } from "@noble/post-quantum/ml-kem.js";
import { AlertDescription as A } from "../../src/alert.js";
import { nodeCrypto } from "../../src/crypto/node.js";
import { type Bytes, cat, list16, u8, u16, vec16, zeros } from "./bytes.js";
import { chain, set, table } from "./cases.js";
import { X25519 } from "./script13.js";
import { hostileClient12, hostileClient13, hostileServer12, hostileServer13 } from "./setup.js";

/**
 * Key shares that are not what their group says (RFC 8446 §4.2.8.2, RFC 8422 §5.11,
 * draft-ietf-tls-ecdhe-mlkem §4, FIPS 203 §7.2): illegal_parameter, both roles, both versions.
 */

const HYBRID = 0x11ec;
const P256 = 0x0017;
const P384 = 0x0018;
const x25519Pub = () => nodeCrypto.keyShare(X25519).publicKey;
const p256Pub = () => nodeCrypto.keyShare(P256).publicKey;
const compressed = (uncompressed: Bytes) =>
  cat(u8(2 + (uncompressed.at(-1)! & 1)), uncompressed.subarray(1, 33));
const share = (g: number, k: Bytes) => cat(u16(g), vec16(k));
const only = (g: number, k: Bytes) => chain(set(10, list16([g])), set(51, vec16(share(g, k))));

type C13 = ReturnType<typeof hostileClient13>;
const hello = (h: C13, g: number, k: Bytes) => h.v.send(h.wire.plain(22, h.c.hello({ exts: only(g, k) })));

table("groups, 1.3 server", hostileClient13, [
  {
    name: "X25519MLKEM768 share one byte short",
    alert: A.illegal_parameter,
    run: (h) => hello(h, HYBRID, zeros(1184 + 31)),
  },
  {
    name: "X25519MLKEM768 share one byte long",
    alert: A.illegal_parameter,
    run: (h) => hello(h, HYBRID, zeros(1184 + 33)),
  },
  // FIPS 203 §7.2: coefficients >= q fail the encapsulation-key modulus check.
  {
    name: "ML-KEM key failing the modulus check",
    alert: A.illegal_parameter,
    run: (h) => hello(h, HYBRID, cat(new Uint8Array(1184).fill(0xff), x25519Pub())),
  },
  {
    name: "valid ML-KEM key with an all-zero X25519 part",
    alert: A.illegal_parameter,
    run: (h) => hello(h, HYBRID, cat(ml_kem768.keygen().publicKey, zeros(32))),
  },
  {
    name: "P-256 compressed point",
    alert: A.illegal_parameter,
    run: (h) => hello(h, P256, compressed(p256Pub())),
  },
  {
    name: "P-256 point with the wrong prefix",
    alert: A.illegal_parameter,
    run: (h) => hello(h, P256, cat(u8(5), p256Pub().subarray(1))),
  },
  {
    name: "P-384 group with a P-256 point",
    alert: A.illegal_parameter,
    run: (h) => hello(h, P384, p256Pub()),
  },
  { name: "X25519 with 33 bytes", alert: A.illegal_parameter, run: (h) => hello(h, X25519, zeros(33)) },
]);

type S13 = ReturnType<typeof hostileServer13>;
const serverShare = (h: S13, g: number, k: Bytes) => {
  h.s.readHello();
  h.v.send(h.wire.plain(22, h.s.serverHello({ exts: set(51, share(g, k)) })));
};

table("groups, 1.3 client", hostileServer13, [
  {
    name: "X25519MLKEM768 share one byte short",
    alert: A.illegal_parameter,
    run: (h) => serverShare(h, HYBRID, zeros(1088 + 31)),
  },
  {
    name: "X25519MLKEM768 with an all-zero X25519 part",
    alert: A.illegal_parameter,
    run: (h) => serverShare(h, HYBRID, cat(zeros(1088), zeros(32))),
  },
  {
    // ML-KEM decapsulation rejects implicitly (FIPS 203): the secrets differ, nothing authenticates,
    // and the client's alert is sealed under its own (other) handshake keys.
    name: "X25519MLKEM768 with a forged ML-KEM ciphertext, then a flight",
    alert: A.bad_record_mac,
    sealedUnreadable: true,
    run: (h) => {
      h.s.readHello();
      const sh = h.s.serverHello({
        exts: set(51, share(HYBRID, cat(new Uint8Array(1088).fill(7), x25519Pub()))),
      });
      h.s.handshakeKeys();
      h.v.send(h.wire.plain(22, sh), h.wire.rec(22, h.s.encryptedExtensions()));
    },
  },
]);

type C12 = ReturnType<typeof hostileClient12>;
function cke12(h: C12, point: Bytes): void {
  h.v.send(h.wire.plain(22, h.c.hello({ exts: set(10, list16([P256])) })));
  h.c.readServerFlight();
  h.v.send(h.wire.plain(22, cat(u8(16), u8(0), u16(point.length + 1), u8(point.length), point)));
}
table("groups, 1.2 server (P-256)", hostileClient12, [
  {
    name: "compressed point in ClientKeyExchange",
    alert: A.illegal_parameter,
    run: (h) => cke12(h, compressed(p256Pub())),
  },
  {
    name: "point off the curve",
    alert: A.illegal_parameter,
    run: (h) => cke12(h, cat(u8(4), new Uint8Array(64).fill(1))),
  },
  { name: "x25519-sized point for P-256", alert: A.illegal_parameter, run: (h) => cke12(h, zeros(32)) },
]);

type S12 = ReturnType<typeof hostileServer12>;
function ske12(h: S12, group: number, point: Bytes): void {
  h.s.readHello();
  h.v.send(
    h.wire.plain(22, h.s.serverHello()),
    h.wire.plain(22, h.s.certificate()),
    h.wire.plain(22, h.s.serverKeyExchange({ group, point })),
    h.wire.plain(22, h.s.serverHelloDone()),
  );
}
table("groups, 1.2 client", hostileServer12, [
  {
    name: "compressed P-256 point",
    alert: A.illegal_parameter,
    run: (h) => ske12(h, P256, compressed(p256Pub())),
  },
  {
    name: "P-256 point off the curve",
    alert: A.illegal_parameter,
    run: (h) => ske12(h, P256, cat(u8(4), new Uint8Array(64).fill(1))),
  },
  {
    name: "P-384 group with a P-256 point",
    alert: A.illegal_parameter,
    run: (h) => ske12(h, P384, p256Pub()),
  },
]);
