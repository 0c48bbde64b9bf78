import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { AlertDescription, AlertLevel } from "../../src/alert.js";
import { ClientConfig, ServerConfig } from "../../src/config.js";
import { ClientConnection, type Connection, ServerConnection } from "../../src/connection.js";
import { ContentType, ExtensionType, HandshakeType, NamedGroup } from "../../src/constants.js";
import { nodeCrypto } from "../../src/crypto/node.js";
import type { TLSError } from "../../src/errors.js";
import { type ClientHello, encodeClientHello } from "../../src/handshake/messages/client-hello.js";
import {
  alpn,
  type Extension,
  ecPointFormats,
  renegotiationInfo,
  signatureAlgorithms,
  supportedGroups,
} from "../../src/handshake/messages/extensions.js";
import { frameHandshake } from "../../src/handshake/messages/framing.js";
import { decodeServerHello, encodeServerHello } from "../../src/handshake/messages/server-hello.js";
import { keyBlock12 } from "../../src/handshake/prf12.js";
import { Aead12Protection } from "../../src/record/protection.js";
import { recordHeader } from "../../src/record/record.js";
import { suiteById, TLS_FALLBACK_SCSV } from "../../src/suites.js";
import { concat, fromHex } from "../../src/wire/bytes.js";
import { demo, pair, pump } from "./pair.js";
import {
  frameRecord,
  frameRecords,
  handshakeMessages,
  handshakeRecord,
  parseRecords,
  plaintextAlerts,
} from "./records.js";

const TLS12 = { maxVersion: "TLSv1.2" } as const;

/** Collects what a connection reports. */
function watch(conn: Connection) {
  const w = {
    errors: [] as TLSError[],
    alerts: [] as Array<{ level: number; name: string; sentBy: string }>,
    closed: false,
  };
  conn.on("error", (e) => w.errors.push(e));
  conn.on("alert", (a) => w.alerts.push({ level: a.level, name: a.name, sentBy: a.sentBy }));
  conn.on("close", () => {
    w.closed = true;
  });
  return w;
}

/** Asserts that `conn` failed with `alert`: a typed error, the fatal alert on the wire, closed. */
function assertFailed(
  conn: Connection,
  w: ReturnType<typeof watch>,
  alert: AlertDescription,
  wire?: Uint8Array,
): void {
  assert.equal(
    w.errors.length,
    1,
    `expected one error, got ${w.errors.map((e) => e.message).join("; ") || "none"}`,
  );
  const e = w.errors[0]!;
  assert.equal(e.name, "TLSError");
  assert.equal(e.alertName, AlertDescription[alert], e.message);
  assert.equal(e.sentBy, "local");
  assert.equal(conn.connectionState, "closed");
  assert.ok(w.closed);
  const out = wire ?? conn.takeOutgoing();
  const records = parseRecords(out);
  const last = records.at(-1);
  assert.ok(last && last.type === ContentType.alert, "the last record on the wire must be the alert");
  if (last.fragment.length === 2) assert.deepEqual(Array.from(last.fragment), [AlertLevel.fatal, alert]);
}

function client(opts: ConstructorParameters<typeof ClientConfig>[0] = {}) {
  const c = new ClientConnection(new ClientConfig({ ca: demo.ca, maxVersion: "TLSv1.2", ...opts }), {
    serverName: "localhost",
  });
  return { c, w: watch(c), hello: c.takeOutgoing() };
}
function server(opts: Partial<ConstructorParameters<typeof ServerConfig>[0]> = {}) {
  const s = new ServerConnection(new ServerConfig({ cert: demo.cert, key: demo.key, ...opts }));
  return { s, w: watch(s) };
}

/** The server's first flight in answer to a real client, as handshake messages. */
function serverFlight(clientOpts = {}, serverOpts = {}) {
  const { c, w, hello } = client(clientOpts);
  const { s } = server(serverOpts);
  s.receive(hello);
  const msgs = handshakeMessages(parseRecords(s.takeOutgoing()));
  return { c, w, s, msgs };
}

function baseHello(over: Partial<ClientHello> = {}, extra: Extension[] = []): ClientHello {
  return {
    legacyVersion: 0x0303,
    random: nodeCrypto.random(32),
    sessionId: new Uint8Array(0),
    cipherSuites: [0xc02b],
    compressionMethods: [0],
    extensions: [
      {
        type: ExtensionType.supported_groups,
        data: supportedGroups.encode([NamedGroup.x25519, NamedGroup.secp256r1]),
      },
      { type: ExtensionType.signature_algorithms, data: signatureAlgorithms.encode([0x0403]) },
      { type: ExtensionType.extended_master_secret, data: new Uint8Array(0) },
      ...extra,
    ],
    ...over,
  };
}
const helloRecord = (h: ClientHello, version = 0x0301) => handshakeRecord([encodeClientHello(h)], version);

describe("client state machine rejects out-of-order and invalid server messages", () => {
  test("ChangeCipherSpec before ServerHello", () => {
    const { c, w } = client();
    c.receive(
      frameRecord({ type: ContentType.change_cipher_spec, version: 0x0303, fragment: Uint8Array.of(1) }),
    );
    assertFailed(c, w, AlertDescription.unexpected_message);
  });

  test("missing ServerKeyExchange in an ECDHE suite", () => {
    const { c, w, msgs } = serverFlight();
    c.receive(handshakeRecord(msgs.filter((m) => m.type !== HandshakeType.server_key_exchange)));
    assertFailed(c, w, AlertDescription.unexpected_message);
  });

  test("ServerHelloDone before Certificate", () => {
    const { c, w, msgs } = serverFlight();
    c.receive(
      handshakeRecord(
        msgs.filter(
          (m) => m.type === HandshakeType.server_hello || m.type === HandshakeType.server_hello_done,
        ),
      ),
    );
    assertFailed(c, w, AlertDescription.unexpected_message);
  });

  test("a second ServerHello", () => {
    const { c, w, msgs } = serverFlight();
    c.receive(handshakeRecord([msgs[0]!, msgs[0]!]));
    assertFailed(c, w, AlertDescription.unexpected_message);
  });

  test("Finished before ChangeCipherSpec", () => {
    const { c, w, msgs } = serverFlight();
    c.receive(handshakeRecord(msgs));
    c.takeOutgoing(); // the client's flight
    c.receive(handshakeRecord([frameHandshake(HandshakeType.finished, new Uint8Array(12))]));
    assertFailed(c, w, AlertDescription.unexpected_message);
  });

  const tamperHello = (edit: (sh: ReturnType<typeof decodeServerHello>) => void) => {
    const { c, w, msgs } = serverFlight();
    const sh = decodeServerHello(msgs[0]!.body);
    edit(sh);
    c.receive(handshakeRecord([encodeServerHello(sh)]));
    return { c, w };
  };

  test("a cipher suite the client did not offer", () => {
    const { c, w } = tamperHello((sh) => {
      sh.cipherSuite = 0x009c; // TLS_RSA_WITH_AES_128_GCM_SHA256, not offered by default
    });
    assertFailed(c, w, AlertDescription.illegal_parameter);
  });

  test("a version the client did not offer", () => {
    const { c, w } = tamperHello((sh) => {
      sh.legacyVersion = 0x0302;
    });
    assertFailed(c, w, AlertDescription.protocol_version);
  });

  test("an extension the client did not offer", () => {
    const { c, w } = tamperHello((sh) => {
      sh.extensions.push({ type: ExtensionType.status_request, data: new Uint8Array(0) });
    });
    assertFailed(c, w, AlertDescription.unsupported_extension);
  });

  test("no extended_master_secret (RFC 7627 required by default)", () => {
    const { c, w } = tamperHello((sh) => {
      sh.extensions = sh.extensions.filter((e) => e.type !== ExtensionType.extended_master_secret);
    });
    assertFailed(c, w, AlertDescription.handshake_failure);
  });

  test("a compression method", () => {
    const { c, w } = tamperHello((sh) => {
      sh.compressionMethod = 1;
    });
    assertFailed(c, w, AlertDescription.illegal_parameter);
  });

  test("non-empty renegotiation_info on the initial handshake (RFC 5746)", () => {
    const { c, w } = tamperHello((sh) => {
      sh.extensions = sh.extensions.map((e) =>
        e.type === ExtensionType.renegotiation_info
          ? { type: e.type, data: renegotiationInfo.encode(Uint8Array.of(1, 2)) }
          : e,
      );
    });
    assertFailed(c, w, AlertDescription.handshake_failure);
  });

  test("a ServerKeyExchange whose signature does not verify", () => {
    const { c, w, msgs } = serverFlight();
    const ske = msgs.find((m) => m.type === HandshakeType.server_key_exchange)!;
    const body = new Uint8Array(ske.body);
    body[body.length - 5]! ^= 1; // inside the signature
    c.receive(handshakeRecord(msgs.map((m) => (m === ske ? frameHandshake(m.type, body) : m))));
    assertFailed(c, w, AlertDescription.decrypt_error);
  });

  test("a ServerKeyExchange with a group the client did not offer", () => {
    const { c, w, msgs } = serverFlight({ groups: ["P-256"] }, { groups: ["P-256", "X25519"] });
    const ske = msgs.find((m) => m.type === HandshakeType.server_key_exchange)!;
    const body = new Uint8Array(ske.body);
    body[1] = 0;
    body[2] = NamedGroup.secp384r1;
    c.receive(handshakeRecord(msgs.map((m) => (m === ske ? frameHandshake(m.type, body) : m))));
    assertFailed(c, w, AlertDescription.illegal_parameter);
  });

  test("application data before the handshake", () => {
    const { c, w } = client();
    c.receive(
      frameRecord({ type: ContentType.application_data, version: 0x0303, fragment: Uint8Array.of(1, 2, 3) }),
    );
    assertFailed(c, w, AlertDescription.unexpected_message);
  });

  test("an alert inside a fragmented handshake message", () => {
    const { c, w, msgs } = serverFlight();
    const raw = msgs[0]!.raw;
    c.receive(
      frameRecords([{ type: ContentType.handshake, version: 0x0303, fragment: raw.subarray(0, 10) }]),
    );
    c.receive(frameRecord({ type: ContentType.alert, version: 0x0303, fragment: Uint8Array.of(1, 0) }));
    assertFailed(c, w, AlertDescription.unexpected_message);
  });

  test("oversized and unknown records", () => {
    const a = client();
    a.c.receive(recordHeader(ContentType.handshake, 0x0303, 20000));
    assertFailed(a.c, a.w, AlertDescription.record_overflow);
    const b = client();
    b.c.receive(Uint8Array.of(0x42, 3, 3, 0, 1, 0));
    assertFailed(b.c, b.w, AlertDescription.unexpected_message);
    const d = client();
    // a plaintext record over 2^14 (but under the ciphertext limit)
    d.c.receive(concat(recordHeader(ContentType.handshake, 0x0303, 16385), new Uint8Array(16385)));
    assertFailed(d.c, d.w, AlertDescription.record_overflow);
  });

  test("a handshake message longer than the limit is refused from its header", () => {
    const { c, w } = client({ maxHandshakeMessageSize: 1000 });
    c.receive(
      frameRecord({ type: ContentType.handshake, version: 0x0303, fragment: Uint8Array.of(2, 0, 0x10, 0) }),
    );
    assertFailed(c, w, AlertDescription.illegal_parameter);
  });
});

describe("server state machine rejects out-of-order and invalid client messages", () => {
  test("ChangeCipherSpec right after ClientHello", () => {
    const { s, w } = server();
    s.receive(helloRecord(baseHello()));
    s.takeOutgoing();
    s.receive(
      frameRecord({ type: ContentType.change_cipher_spec, version: 0x0303, fragment: Uint8Array.of(1) }),
    );
    assertFailed(s, w, AlertDescription.unexpected_message);
  });

  test("Finished in place of ClientKeyExchange", () => {
    const { s, w } = server();
    s.receive(helloRecord(baseHello()));
    s.takeOutgoing();
    s.receive(handshakeRecord([frameHandshake(HandshakeType.finished, new Uint8Array(12))]));
    assertFailed(s, w, AlertDescription.unexpected_message);
  });

  test("a ServerHello sent to a server", () => {
    const { s, w } = server();
    s.receive(handshakeRecord([frameHandshake(HandshakeType.server_hello, new Uint8Array(40))]));
    assertFailed(s, w, AlertDescription.unexpected_message);
  });

  test("TLS 1.1 only, and SSL 3.0 (RFC 7568), are protocol_version", () => {
    for (const v of [0x0302, 0x0301, 0x0300]) {
      const { s, w } = server();
      s.receive(helloRecord(baseHello({ legacyVersion: v }), v === 0x0300 ? 0x0300 : 0x0301));
      assertFailed(s, w, AlertDescription.protocol_version);
    }
  });

  test("TLS_FALLBACK_SCSV: accepted at our highest version, inappropriate_fallback below it (RFC 7507)", () => {
    const at = server({ maxVersion: "TLSv1.2" });
    at.s.receive(helloRecord(baseHello({ cipherSuites: [0xc02b, TLS_FALLBACK_SCSV] })));
    assert.deepEqual(at.w.errors, []);
    assert.ok(
      handshakeMessages(parseRecords(at.s.takeOutgoing())).some(
        (m) => m.type === HandshakeType.server_hello_done,
      ),
    );
    const below = server(); // supports TLS 1.3; the client retried with 1.2 only
    below.s.receive(helloRecord(baseHello({ cipherSuites: [0xc02b, TLS_FALLBACK_SCSV] })));
    assertFailed(below.s, below.w, AlertDescription.inappropriate_fallback);
  });

  test("no cipher suite in common", () => {
    const { s, w } = server();
    s.receive(helloRecord(baseHello({ cipherSuites: [0x009c, 0x002f] })));
    assertFailed(s, w, AlertDescription.handshake_failure);
  });

  test("a client offering only ECDHE_RSA suites to a server with only an ECDSA certificate", () => {
    const { s, w } = server();
    s.receive(helloRecord(baseHello({ cipherSuites: [0xc02f] }))); // ECDHE_RSA, but our certificate is ECDSA
    assertFailed(s, w, AlertDescription.handshake_failure);
  });

  test("no extended_master_secret", () => {
    const { s, w } = server();
    const h = baseHello();
    h.extensions = h.extensions.filter((e) => e.type !== ExtensionType.extended_master_secret);
    s.receive(helloRecord(h));
    assertFailed(s, w, AlertDescription.handshake_failure);
  });

  test("no null compression", () => {
    const { s, w } = server();
    s.receive(helloRecord(baseHello({ compressionMethods: [1] })));
    assertFailed(s, w, AlertDescription.illegal_parameter);
  });

  test("ec_point_formats without uncompressed", () => {
    const { s, w } = server();
    s.receive(
      helloRecord(baseHello({}, [{ type: ExtensionType.ec_point_formats, data: Uint8Array.of(1, 1) }])),
    );
    assertFailed(s, w, AlertDescription.illegal_parameter);
    assert.deepEqual(Array.from(ecPointFormats.encode()), [1, 0]);
  });

  test("non-empty renegotiation_info", () => {
    const { s, w } = server();
    s.receive(
      helloRecord(
        baseHello({}, [
          { type: ExtensionType.renegotiation_info, data: renegotiationInfo.encode(Uint8Array.of(9)) },
        ]),
      ),
    );
    assertFailed(s, w, AlertDescription.handshake_failure);
  });

  test("duplicate extension", () => {
    const { s, w } = server();
    const h = baseHello();
    h.extensions.push(h.extensions[0]!);
    s.receive(helloRecord(h));
    assertFailed(s, w, AlertDescription.decode_error);
  });

  test("ALPN with no protocol in common is no_application_protocol (RFC 7301)", () => {
    const { s, w } = server({ alpnProtocols: ["h2"] });
    s.receive(
      helloRecord(
        baseHello({}, [
          { type: ExtensionType.application_layer_protocol_negotiation, data: alpn.encode(["http/1.1"]) },
        ]),
      ),
    );
    assertFailed(s, w, AlertDescription.no_application_protocol);
  });

  test("unknown extensions and GREASE values are ignored", () => {
    const { s, w } = server();
    s.receive(
      helloRecord(
        baseHello({ cipherSuites: [0x0a0a, 0xc02b] }, [
          { type: 0x1a1a, data: Uint8Array.of(0) },
          { type: 0xfe0d, data: new Uint8Array(5) },
        ]),
      ),
    );
    assert.deepEqual(w.errors, []);
  });

  test("client certificate required but none sent", () => {
    const { c, s } = pair(TLS12, { clientAuth: "require", ca: demo.ca });
    const w = watch(s);
    pump(c, s);
    assert.equal(w.errors[0]?.alertName, "handshake_failure");
    assert.equal(c.error?.alertName, "handshake_failure");
    assert.equal(c.error?.sentBy, "peer");
  });

  test("CertificateVerify after an empty client Certificate", () => {
    const { c, s } = pair(TLS12, { clientAuth: "request", ca: demo.ca });
    const w = watch(s);
    s.receive(c.takeOutgoing());
    c.receive(s.takeOutgoing());
    // The client's flight: Certificate (empty), ClientKeyExchange, then CCS + Finished. Insert a CertificateVerify.
    const records = parseRecords(c.takeOutgoing());
    const hs = handshakeMessages(records.slice(0, 1));
    const cv = frameHandshake(HandshakeType.certificate_verify, Uint8Array.of(4, 3, 0, 0));
    s.receive(handshakeRecord([...hs, cv]));
    assertFailed(s, w, AlertDescription.unexpected_message);
  });
});

/** Re-encrypts the first encrypted handshake record (Finished) of `from` with a corrupted verify_data. */
function corruptFinished(
  bytes: Uint8Array,
  masterHex: string,
  clientRandom: Uint8Array,
  serverRandom: Uint8Array,
  fromServer: boolean,
  suiteId: number,
) {
  const suite = suiteById(suiteId)!;
  const kb = keyBlock12(
    nodeCrypto,
    suite.hash,
    fromHex(masterHex),
    clientRandom,
    serverRandom,
    suite.keyLength,
    suite.fixedIvLength,
  );
  const key = fromServer ? kb.serverWriteKey : kb.clientWriteKey;
  const iv = fromServer ? kb.serverWriteIv : kb.clientWriteIv;
  const records = parseRecords(bytes);
  const ccs = records.findIndex((r) => r.type === ContentType.change_cipher_spec);
  const fin = records[ccs + 1]!;
  const plain = new Aead12Protection(nodeCrypto, suite, key, iv).open(
    fin.type,
    fin.version,
    fin.fragment,
  ).fragment;
  assert.equal(plain[0], HandshakeType.finished);
  plain[plain.length - 1]! ^= 1;
  const resealed = new Aead12Protection(nodeCrypto, suite, key, iv).seal(
    fin.type,
    fin.version,
    plain,
  ).fragment;
  records[ccs + 1] = { ...fin, fragment: resealed };
  return frameRecords(records);
}

describe("Finished and record integrity", () => {
  function keyed() {
    const { c, s } = pair(TLS12);
    let master = "";
    c.on("keylog", (line) => {
      master = line.split(" ")[2]!;
    });
    const hello = c.takeOutgoing();
    const clientRandom = hello.slice(5 + 4 + 2, 5 + 4 + 2 + 32);
    s.receive(hello);
    const flight = s.takeOutgoing();
    const serverRandom = handshakeMessages(parseRecords(flight))[0]!.body.slice(2, 34);
    c.receive(flight);
    return { c, s, master: () => master, clientRandom, serverRandom };
  }

  test("a bad server Finished is decrypt_error", () => {
    const { c, s, master, clientRandom, serverRandom } = keyed();
    const w = watch(c);
    s.receive(c.takeOutgoing());
    const bad = corruptFinished(s.takeOutgoing(), master(), clientRandom, serverRandom, true, 0xc02b);
    c.receive(bad);
    assert.equal(w.errors[0]?.alertName, "decrypt_error");
    assert.equal(w.errors[0]?.sentBy, "local");
    assert.equal(c.connectionState, "closed");
  });

  test("a bad client Finished is decrypt_error", () => {
    const { c, s, master, clientRandom, serverRandom } = keyed();
    const w = watch(s);
    s.receive(corruptFinished(c.takeOutgoing(), master(), clientRandom, serverRandom, false, 0xc02b));
    assert.equal(w.errors[0]?.alertName, "decrypt_error");
    assert.equal(s.connectionState, "closed");
  });

  test("a tampered application data record is bad_record_mac, and the alert is encrypted", () => {
    const { c, s } = pair(TLS12);
    pump(c, s);
    const w = watch(s);
    c.write(new TextEncoder().encode("secret"));
    const rec = c.takeOutgoing();
    rec[rec.length - 3]! ^= 1;
    s.receive(rec);
    assert.equal(w.errors[0]?.alertName, "bad_record_mac");
    const out = parseRecords(s.takeOutgoing());
    assert.equal(out.at(-1)?.type, ContentType.alert);
    assert.equal(
      plaintextAlerts(frameRecords(out)).length,
      0,
      "the alert must be protected once keys are in use",
    );
    // The client can read it: fatal bad_record_mac from the peer.
    const cw = watch(c);
    c.receive(frameRecords(out));
    assert.equal(cw.errors[0]?.alertName, "bad_record_mac");
    assert.equal(cw.errors[0]?.sentBy, "peer");
  });

  test("renegotiation is refused with a no_renegotiation warning, and the connection goes on", () => {
    const { c, s } = pair(TLS12);
    pump(c, s);
    const sw = watch(s);
    // A second handshake inside the encrypted connection is impossible from the client API, so send
    // the HelloRequest from the server side through its own write path.
    (s as unknown as { writeRecords(t: number, d: Uint8Array): void }).writeRecords(
      ContentType.handshake,
      frameHandshake(HandshakeType.hello_request, new Uint8Array(0)).raw,
    );
    const cw = watch(c);
    c.receive(s.takeOutgoing());
    assert.deepEqual(cw.errors, []);
    assert.deepEqual(cw.alerts, [{ level: AlertLevel.warning, name: "no_renegotiation", sentBy: "local" }]);
    s.receive(c.takeOutgoing());
    assert.deepEqual(sw.alerts, [{ level: AlertLevel.warning, name: "no_renegotiation", sentBy: "peer" }]);
    c.write(Uint8Array.of(1));
    let got = 0;
    s.on("data", (d) => {
      got += d.length;
    });
    s.receive(c.takeOutgoing());
    assert.equal(got, 1);
  });
});
