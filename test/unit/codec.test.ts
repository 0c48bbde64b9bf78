import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { AlertDescription } from "../../src/alert.js";
import { ExtensionType, HandshakeType } from "../../src/constants.js";
import { TLSError } from "../../src/errors.js";
import { decodeCertificate12, encodeCertificate12 } from "../../src/handshake/messages/certificate.js";
import {
  decodeCertificateRequest12,
  encodeCertificateRequest12,
} from "../../src/handshake/messages/certificate-request.js";
import {
  type ClientHello,
  decodeClientHello,
  encodeClientHello,
} from "../../src/handshake/messages/client-hello.js";
import {
  alpn,
  decodeExtensions,
  renegotiationInfo,
  serverName,
  signatureAlgorithms,
  supportedGroups,
  supportedVersions,
} from "../../src/handshake/messages/extensions.js";
import {
  decodeServerHello,
  encodeServerHello,
  type ServerHello,
} from "../../src/handshake/messages/server-hello.js";
import {
  decodeServerKeyExchange,
  encodeServerKeyExchange,
} from "../../src/handshake/messages/server-key-exchange.js";
import {
  decodeCertificateVerify,
  decodeClientKeyExchange,
  decodeFinished,
  decodeServerHelloDone,
  encodeCertificateVerify,
  encodeClientKeyExchange,
  encodeFinished,
  encodeServerHelloDone,
} from "../../src/handshake/messages/simple.js";
import { Reader } from "../../src/wire/reader.js";
import { Writer } from "../../src/wire/writer.js";

const bytes = (n: number, fill = 7) => new Uint8Array(n).fill(fill);

function assertAlert(fn: () => unknown, alert: AlertDescription): void {
  assert.throws(
    fn,
    (e: unknown) => e instanceof TLSError && e.alert === alert,
    `expected ${AlertDescription[alert]}`,
  );
}

/**
 * Every strict prefix of an encoded message must fail to decode with a TLSError, except `valid`
 * (a hello cut exactly before its extensions block is a legal hello without extensions).
 */
function assertPrefixesFail(body: Uint8Array, decode: (b: Uint8Array) => unknown, valid = -1): void {
  for (let n = 0; n < body.length; n++) {
    if (n === valid) continue;
    assert.throws(
      () => decode(body.subarray(0, n)),
      (e: unknown) => e instanceof TLSError,
      `prefix of ${n}/${body.length} bytes decoded`,
    );
  }
}

const hello: ClientHello = {
  legacyVersion: 0x0303,
  random: bytes(32, 1),
  sessionId: bytes(32, 2),
  cipherSuites: [0xc02b, 0xc02f, 0x00ff],
  compressionMethods: [0],
  extensions: [
    { type: ExtensionType.server_name, data: serverName.encode("example.com") },
    { type: ExtensionType.supported_groups, data: supportedGroups.encode([0x1d, 0x17]) },
    { type: ExtensionType.signature_algorithms, data: signatureAlgorithms.encode([0x0403, 0x0804]) },
    { type: ExtensionType.application_layer_protocol_negotiation, data: alpn.encode(["h2", "http/1.1"]) },
    { type: ExtensionType.extended_master_secret, data: new Uint8Array(0) },
    { type: 0x7a7a, data: bytes(3) }, // unknown (GREASE-like) extension kept as bytes
  ],
};

describe("handshake message codecs round-trip", () => {
  test("ClientHello", () => {
    const m = encodeClientHello(hello);
    assert.equal(m.type, HandshakeType.client_hello);
    assert.equal(m.raw.length, m.body.length + 4);
    assert.deepEqual(decodeClientHello(m.body), hello);
    assertPrefixesFail(m.body, decodeClientHello, m.body.length - extensionsBlockLength(hello.extensions));
    assertAlert(() => decodeClientHello(new Uint8Array([...m.body, 0])), AlertDescription.decode_error);
  });

  test("ClientHello without an extensions block (RFC 5246 §7.4.1.2)", () => {
    const m = encodeClientHello({ ...hello, extensions: [] });
    const noExt = m.body.subarray(0, m.body.length - 2); // drop the empty extensions length
    assert.deepEqual(decodeClientHello(noExt).extensions, []);
  });

  test("ServerHello", () => {
    const sh: ServerHello = {
      legacyVersion: 0x0303,
      random: bytes(32, 3),
      sessionId: new Uint8Array(0),
      cipherSuite: 0xc02b,
      compressionMethod: 0,
      extensions: [
        { type: ExtensionType.renegotiation_info, data: renegotiationInfo.encode(new Uint8Array(0)) },
      ],
    };
    const m = encodeServerHello(sh);
    assert.deepEqual(decodeServerHello(m.body), sh);
    assertPrefixesFail(m.body, decodeServerHello, m.body.length - extensionsBlockLength(sh.extensions));
  });

  test("Certificate (TLS 1.2)", () => {
    const c = { certificateList: [bytes(100, 1), bytes(50, 2)] };
    const m = encodeCertificate12(c);
    assert.deepEqual(decodeCertificate12(m.body, 10), c);
    assert.deepEqual(decodeCertificate12(encodeCertificate12({ certificateList: [] }).body, 10), {
      certificateList: [],
    });
    assertAlert(() => decodeCertificate12(m.body, 1), AlertDescription.bad_certificate);
    assertPrefixesFail(m.body, (b) => decodeCertificate12(b, 10));
    // A zero-length ASN.1Cert is forbidden (<1..2^24-1>).
    const zero = new Writer().vec(3, (w) => w.vec24(new Uint8Array(0))).finish();
    assertAlert(() => decodeCertificate12(zero, 10), AlertDescription.decode_error);
  });

  test("ServerKeyExchange (ECDHE)", () => {
    const ske = { group: 0x1d, publicKey: bytes(32), scheme: 0x0403, signature: bytes(70) };
    const m = encodeServerKeyExchange(ske);
    assert.deepEqual(decodeServerKeyExchange(m.body), ske);
    assertPrefixesFail(m.body, decodeServerKeyExchange);
    const explicit = new Uint8Array(m.body);
    explicit[0] = 1; // explicit_prime curves are not supported
    assertAlert(() => decodeServerKeyExchange(explicit), AlertDescription.illegal_parameter);
  });

  test("CertificateRequest (TLS 1.2)", () => {
    const req = {
      certificateTypes: [64, 1],
      signatureAlgorithms: [0x0403, 0x0804],
      certificateAuthorities: [bytes(20)],
    };
    const m = encodeCertificateRequest12(req);
    assert.deepEqual(decodeCertificateRequest12(m.body), req);
    assertPrefixesFail(m.body, decodeCertificateRequest12);
  });

  test("ServerHelloDone, ClientKeyExchange, CertificateVerify, Finished", () => {
    assert.equal(encodeServerHelloDone().body.length, 0);
    decodeServerHelloDone(new Uint8Array(0));
    assertAlert(() => decodeServerHelloDone(bytes(1)), AlertDescription.decode_error);

    const e = encodeClientKeyExchange({ kind: "ECDHE", publicKey: bytes(65) });
    assert.deepEqual(decodeClientKeyExchange(e.body, "ECDHE"), { kind: "ECDHE", publicKey: bytes(65) });
    assertAlert(() => decodeClientKeyExchange(Uint8Array.of(0), "ECDHE"), AlertDescription.decode_error); // empty point
    const r = encodeClientKeyExchange({ kind: "RSA", encryptedPreMaster: bytes(256) });
    assert.deepEqual(decodeClientKeyExchange(r.body, "RSA"), { kind: "RSA", encryptedPreMaster: bytes(256) });
    assertPrefixesFail(r.body, (b) => decodeClientKeyExchange(b, "RSA"));

    const cv = encodeCertificateVerify({ scheme: 0x0804, signature: bytes(256) });
    assert.deepEqual(decodeCertificateVerify(cv.body), { scheme: 0x0804, signature: bytes(256) });
    assertPrefixesFail(cv.body, decodeCertificateVerify);

    const f = encodeFinished(bytes(12));
    assert.deepEqual(decodeFinished(f.body, 12), bytes(12));
    assertAlert(() => decodeFinished(bytes(11), 12), AlertDescription.decode_error);
  });
});

describe("extensions", () => {
  test("typed codecs round-trip", () => {
    assert.equal(serverName.decode(serverName.encode("a.example")), "a.example");
    assert.equal(serverName.decode(new Uint8Array(0)), undefined);
    assert.deepEqual(supportedGroups.decode(supportedGroups.encode([0x1d, 0x17, 0x18])), [0x1d, 0x17, 0x18]);
    assert.deepEqual(alpn.decode(alpn.encode(["h2", "http/1.1"])), ["h2", "http/1.1"]);
    assert.deepEqual(
      supportedVersions.decodeClient(supportedVersions.encodeClient([0x0304, 0x0303])),
      [0x0304, 0x0303],
    );
    assert.equal(supportedVersions.decodeServer(supportedVersions.encodeServer(0x0304)), 0x0304);
  });

  test("malformed bodies are decode_error; bad host names illegal_parameter", () => {
    assertAlert(() => supportedGroups.decode(Uint8Array.of(0, 0)), AlertDescription.decode_error); // empty list
    assertAlert(() => supportedGroups.decode(Uint8Array.of(0, 3, 0, 0x1d, 0)), AlertDescription.decode_error); // odd
    assertAlert(() => alpn.decode(Uint8Array.of(0, 1, 0)), AlertDescription.decode_error); // empty protocol name
    assertAlert(
      () => signatureAlgorithms.decode(Uint8Array.of(0, 2, 4, 3, 9)),
      AlertDescription.decode_error,
    ); // trailing
    assertAlert(
      () => serverName.decode(serverName.encode("bad\u0000name")),
      AlertDescription.illegal_parameter,
    );
    assertAlert(
      () => serverName.decode(serverName.encode("trailing.dot.")),
      AlertDescription.illegal_parameter,
    );
  });

  test("duplicate extensions are refused", () => {
    const w = new Writer().vec(2, (w) => w.u16(23).vec16(new Uint8Array(0)).u16(23).vec16(new Uint8Array(0)));
    assertAlert(() => decodeExtensions(new Reader(w.finish())), AlertDescription.decode_error);
  });
});

describe("property: decoders fail only with TLSError", () => {
  const decoders: Array<[string, (b: Uint8Array) => unknown]> = [
    ["ClientHello", decodeClientHello],
    ["ServerHello", decodeServerHello],
    ["Certificate", (b) => decodeCertificate12(b, 10)],
    ["ServerKeyExchange", decodeServerKeyExchange],
    ["CertificateRequest", decodeCertificateRequest12],
    ["ClientKeyExchange", (b) => decodeClientKeyExchange(b, "ECDHE")],
    ["CertificateVerify", decodeCertificateVerify],
  ];
  for (const [name, decode] of decoders) {
    test(name, () => {
      const seed = name === "ClientHello" ? encodeClientHello(hello).body : new Uint8Array(0);
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 600 }), fc.nat(), (random, i) => {
          // Random bytes, and the real ClientHello with one byte changed.
          for (const input of [random, mutate(seed, i)]) {
            try {
              decode(input);
            } catch (e) {
              if (!(e instanceof TLSError)) throw e;
            }
          }
        }),
        { numRuns: 500 },
      );
    });
  }
});

function extensionsBlockLength(exts: { data: Uint8Array }[]): number {
  return 2 + exts.reduce((n, e) => n + 4 + e.data.length, 0);
}

function mutate(b: Uint8Array, i: number): Uint8Array {
  if (b.length === 0) return b;
  const c = new Uint8Array(b);
  c[i % c.length]! ^= 0xff;
  return c;
}
