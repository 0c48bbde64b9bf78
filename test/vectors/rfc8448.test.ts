import assert from "node:assert/strict";
import { createECDH, createPrivateKey, createPublicKey, diffieHellman } from "node:crypto";
import { describe, test } from "node:test";
import { AlertDescription } from "../../src/alert.js";
import {
  ContentType,
  ExtensionType,
  HandshakeType,
  NamedGroup,
  SignatureScheme,
} from "../../src/constants.js";
import { nodeCrypto } from "../../src/crypto/node.js";
import { TLSError } from "../../src/errors.js";
import {
  deriveSecret,
  finishedMac,
  hkdfExpandLabel,
  hkdfExtract,
  hkdfLabel,
  KeySchedule13,
  trafficKeys,
} from "../../src/handshake/keyschedule13.js";
import { decodeClientHello, encodeClientHello } from "../../src/handshake/messages/client-hello.js";
import {
  cookie,
  type Extension,
  findExtension,
  keyShare,
  pskKeyExchangeModes,
  serverName,
  signatureAlgorithms,
  supportedGroups,
  supportedVersions,
} from "../../src/handshake/messages/extensions.js";
import { decodeServerHello, encodeServerHello } from "../../src/handshake/messages/server-hello.js";
import { decodeCertificateVerify, encodeFinished } from "../../src/handshake/messages/simple.js";
import {
  certificateVerifyContent,
  decodeCertificate13,
  decodeCertificateRequest13,
  decodeEncryptedExtensions,
  decodeNewSessionTicket13,
  encodeCertificate13,
  encodeCertificateRequest13,
  encodeEncryptedExtensions,
  encodeNewSessionTicket13,
  HELLO_RETRY_REQUEST_RANDOM,
  messageHash,
} from "../../src/handshake/messages/tls13.js";
import { Aead13Protection } from "../../src/record/protection.js";
import { recordHeader } from "../../src/record/record.js";
import { concat, fromHex, toHex } from "../../src/wire/bytes.js";
import { Reader } from "../../src/wire/reader.js";
import { parseCertificate } from "../../src/x509/certificate.js";
import { CLIENT_AUTH, COMPAT, HRR, RESUMED, SIMPLE } from "./rfc8448-data.js";

/**
 * The TLS 1.3 key schedule, handshake codecs and record protection, byte for byte against the
 * example traces of RFC 8448 (all TLS_AES_128_GCM_SHA256): §3 simple 1-RTT, §4 resumption with 0-RTT,
 * §5 HelloRetryRequest, §6 client authentication, §7 compatibility mode. The values come from
 * ./rfc8448-data.ts (generated from the RFC by scripts/extract-rfc8448.mjs). Every comparison is of
 * whole byte strings, as hex so that a failure shows both sides.
 */

const crypto = nodeCrypto;
const HASH = "sha256";
const KEY_LENGTH = 16; // AES-128-GCM
const EMPTY = new Uint8Array(0);
const ZEROS = new Uint8Array(32);

function eq(actual: Uint8Array, expectedHex: string, what: string): void {
  assert.equal(toHex(actual), expectedHex, what);
}
const sha256 = (...parts: Uint8Array[]): Uint8Array => crypto.hash(HASH, concat(...parts));
/** Transcript-Hash over the messages given as hex (RFC 8446 §4.4.1). */
const transcriptHash = (...messages: string[]): Uint8Array => sha256(...messages.map((m) => fromHex(m)));

/** Splits one handshake message (RFC 8446 §4): msg_type, uint24 length, body. */
function handshake(hex: string, type: HandshakeType): Uint8Array {
  const raw = fromHex(hex);
  assert.equal(raw[0], type, `handshake type of ${hex.slice(0, 8)}...`);
  assert.equal((raw[1]! << 16) | (raw[2]! << 8) | raw[3]!, raw.length - 4, "handshake length");
  return raw.subarray(4);
}

/** Splits one record: the 5-byte header (checked against our recordHeader) and the fragment. */
function record(hex: string, type: ContentType, version = 0x0303): Uint8Array {
  const raw = fromHex(hex);
  const fragment = raw.subarray(5);
  eq(raw.subarray(0, 5), toHex(recordHeader(type, version, fragment.length)), "record header");
  return fragment;
}

function ext(exts: readonly Extension[], type: ExtensionType): Uint8Array {
  const d = findExtension(exts, type);
  assert.ok(d, `extension ${ExtensionType[type]} present`);
  return d;
}

// ---- independent key exchange on node:crypto, from the RFC's private keys -----------------------

const X25519_PKCS8 = "302e020100300506032b656e04220420";
const X25519_SPKI = "302a300506032b656e032100";

function x25519Private(privateHex: string) {
  return createPrivateKey({
    key: Buffer.from(X25519_PKCS8 + privateHex, "hex"),
    format: "der",
    type: "pkcs8",
  });
}
function x25519Public(privateHex: string): Uint8Array {
  const spki = createPublicKey(x25519Private(privateHex)).export({ type: "spki", format: "der" });
  return new Uint8Array(spki.subarray(X25519_SPKI.length / 2));
}
function x25519(privateHex: string, peerPublicHex: string): { publicKey: Uint8Array; secret: Uint8Array } {
  const privateKey = x25519Private(privateHex);
  const publicKey = createPublicKey({
    key: Buffer.from(X25519_SPKI + peerPublicHex, "hex"),
    format: "der",
    type: "spki",
  });
  return {
    publicKey: x25519Public(privateHex),
    secret: new Uint8Array(diffieHellman({ privateKey, publicKey })),
  };
}

function p256(privateHex: string, peerPublicHex: string): { publicKey: Uint8Array; secret: Uint8Array } {
  const ecdh = createECDH("prime256v1");
  ecdh.setPrivateKey(Buffer.from(privateHex, "hex"));
  return {
    publicKey: new Uint8Array(ecdh.getPublicKey()),
    secret: new Uint8Array(ecdh.computeSecret(Buffer.from(peerPublicHex, "hex"))),
  };
}

// ---- record protection -------------------------------------------------------------------------

function protection(keyHex: string, ivHex: string): Aead13Protection {
  return new Aead13Protection(crypto, "aes-128-gcm", fromHex(keyHex), fromHex(ivHex));
}

/**
 * Seals each payload in turn with one Aead13Protection (sequence numbers 0, 1, ...) and compares
 * with the RFC's complete record; then opens each RFC record with a fresh one and gets the payload.
 */
function checkRecords(
  keyHex: string,
  ivHex: string,
  records: ReadonlyArray<{ type: ContentType; payload: string; record: string; what: string }>,
): void {
  const sealer = protection(keyHex, ivHex);
  const opener = protection(keyHex, ivHex);
  for (const r of records) {
    const fragment = record(r.record, ContentType.application_data);
    const sealed = sealer.seal(r.type, 0x0303, fromHex(r.payload));
    assert.equal(sealed.type, ContentType.application_data, `${r.what}: outer type`);
    eq(concat(recordHeader(sealed.type, 0x0303, sealed.fragment.length), sealed.fragment), r.record, r.what);
    const opened = opener.open(ContentType.application_data, 0x0303, fragment);
    assert.equal(opened.type, r.type, `${r.what}: inner content type`);
    eq(opened.fragment, r.payload, `${r.what}: opened payload`);
  }
}

// ---- the full handshakes (§3, §5, §6, §7) ------------------------------------------------------

/** The values every full-handshake trace of the RFC shows (see ./rfc8448-data.ts). */
interface FullTrace {
  readonly clientPrivateKey: string;
  readonly clientPublicKey: string;
  readonly serverPrivateKey: string;
  readonly serverPublicKey: string;
  readonly clientHello: string;
  readonly clientHelloRecord: string;
  readonly serverHello: string;
  readonly serverHelloRecord: string;
  readonly earlySecret: string;
  readonly derivedInfo: string;
  readonly emptyHash: string;
  readonly derivedForHandshake: string;
  readonly sharedSecret: string;
  readonly handshakeSecret: string;
  readonly helloHash: string;
  readonly clientHsTrafficInfo: string;
  readonly clientHsTraffic: string;
  readonly serverHsTrafficInfo: string;
  readonly serverHsTraffic: string;
  readonly derivedForMaster: string;
  readonly masterSecret: string;
  readonly keyInfo: string;
  readonly ivInfo: string;
  readonly serverHsKey: string;
  readonly serverHsIv: string;
  readonly encryptedExtensions: string;
  readonly certificate: string;
  readonly certificateVerify: string;
  readonly finishedInfo: string;
  readonly serverFinishedKey: string;
  readonly serverVerifyData: string;
  readonly serverFinished: string;
  readonly serverFlightPayload: string;
  readonly serverFlightRecord: string;
  readonly finishedHash: string;
  readonly clientApTrafficInfo: string;
  readonly clientApTraffic: string;
  readonly serverApTrafficInfo: string;
  readonly serverApTraffic: string;
  readonly expMasterInfo: string;
  readonly expMaster: string;
  readonly serverApKey: string;
  readonly serverApIv: string;
  readonly clientHsKey: string;
  readonly clientHsIv: string;
  readonly clientFinishedKey: string;
  readonly clientVerifyData: string;
  readonly clientFinished: string;
  readonly clientFlightPayload: string;
  readonly clientFlightRecord: string;
  readonly clientApKey: string;
  readonly clientApIv: string;
  readonly resumptionHash: string;
  readonly resMasterInfo: string;
  readonly resMaster: string;
  readonly clientAlertPayload: string;
  readonly clientAlertRecord: string;
  readonly serverAlertPayload: string;
  readonly serverAlertRecord: string;
}

interface Spec {
  t: FullTrace;
  group: NamedGroup;
  exchange: (privateHex: string, peerPublicHex: string) => { publicKey: Uint8Array; secret: Uint8Array };
  /** The transcript up to, not including, ServerHello: [ClientHello] or, after HRR, [message_hash, HRR, ClientHello2]. */
  beforeServerHello: string[];
  /** The server's encrypted flight in order, Finished last. */
  serverFlight: string[];
  /** The client's Certificate and CertificateVerify, when it authenticates. */
  clientAuth: string[];
  serverScheme: SignatureScheme;
  /** Records the server then sends under its application keys (before its close_notify). */
  serverApRecords: Array<{ type: ContentType; payload: string; record: string; what: string }>;
  clientApRecords: Array<{ type: ContentType; payload: string; record: string; what: string }>;
}

/** Replays the schedule with our KeySchedule13 over transcript hashes that we compute ourselves. */
function runSchedule(s: Spec) {
  const { t } = s;
  const ks = new KeySchedule13(crypto, HASH);
  const helloHash = transcriptHash(...s.beforeServerHello, t.serverHello);
  const hs = ks.handshake(fromHex(t.sharedSecret), helloHash);
  const finishedHash = transcriptHash(...s.beforeServerHello, t.serverHello, ...s.serverFlight);
  const ap = ks.application(finishedHash);
  const resumptionHash = transcriptHash(
    ...s.beforeServerHello,
    t.serverHello,
    ...s.serverFlight,
    ...s.clientAuth,
    t.clientFinished,
  );
  const resumption = ks.resumption(resumptionHash);
  return { ks, helloHash, hs, finishedHash, ap, resumptionHash, resumption };
}

function fullHandshakeTests(s: Spec): void {
  const { t } = s;

  test("ServerHello decodes (suite, key_share, supported_versions), re-encodes, and is its record", () => {
    const body = handshake(t.serverHello, HandshakeType.server_hello);
    const sh = decodeServerHello(body);
    assert.equal(sh.legacyVersion, 0x0303);
    assert.equal(sh.cipherSuite, 0x1301);
    assert.equal(sh.compressionMethod, 0);
    assert.notEqual(toHex(sh.random), toHex(HELLO_RETRY_REQUEST_RANDOM));
    const share = keyShare.decodeServer(ext(sh.extensions, ExtensionType.key_share));
    assert.equal(share.group, s.group);
    eq(share.keyExchange, t.serverPublicKey, "server key_share = the server's public key");
    assert.equal(
      supportedVersions.decodeServer(ext(sh.extensions, ExtensionType.supported_versions)),
      0x0304,
    );
    eq(encodeServerHello(sh).raw, t.serverHello, "re-encoded ServerHello");
    eq(record(t.serverHelloRecord, ContentType.handshake), t.serverHello, "ServerHello record body");
    // The ServerHello echoes the session id of the ClientHello it answers (RFC 8446 §4.1.3).
    const ch = decodeClientHello(handshake(t.clientHello, HandshakeType.client_hello));
    eq(sh.sessionId, toHex(ch.sessionId), "legacy_session_id_echo");
  });

  test("ClientHello decodes (key_share, supported_versions, server_name), re-encodes, and is its record", () => {
    const ch = decodeClientHello(handshake(t.clientHello, HandshakeType.client_hello));
    assert.equal(ch.legacyVersion, 0x0303);
    assert.deepEqual(ch.cipherSuites, [0x1301, 0x1303, 0x1302]);
    assert.deepEqual(ch.compressionMethods, [0]);
    const shares = keyShare.decodeClient(ext(ch.extensions, ExtensionType.key_share));
    assert.equal(shares.length, 1);
    assert.equal(shares[0]!.group, s.group);
    eq(shares[0]!.keyExchange, t.clientPublicKey, "client key_share = the client's public key");
    assert.deepEqual(
      supportedVersions.decodeClient(ext(ch.extensions, ExtensionType.supported_versions)),
      [0x0304],
    );
    assert.equal(serverName.decode(ext(ch.extensions, ExtensionType.server_name)), "server");
    assert.deepEqual(
      signatureAlgorithms.decode(ext(ch.extensions, ExtensionType.signature_algorithms)),
      [
        0x0403, 0x0503, 0x0603, 0x0203, 0x0804, 0x0805, 0x0806, 0x0401, 0x0501, 0x0601, 0x0201, 0x0402,
        0x0502, 0x0602, 0x0202,
      ],
    );
    assert.deepEqual(
      pskKeyExchangeModes.decode(ext(ch.extensions, ExtensionType.psk_key_exchange_modes)),
      [1],
    );
    eq(encodeClientHello(ch).raw, t.clientHello, "re-encoded ClientHello");
    const first = s.beforeServerHello.length === 1;
    eq(
      record(t.clientHelloRecord, ContentType.handshake, first ? 0x0301 : 0x0303),
      t.clientHello,
      "ClientHello record body",
    );
  });

  test("the (EC)DHE shared secret, recomputed from the RFC's private keys on node:crypto", () => {
    const client = s.exchange(t.clientPrivateKey, t.serverPublicKey);
    const server = s.exchange(t.serverPrivateKey, t.clientPublicKey);
    eq(client.publicKey, t.clientPublicKey, "client public key from its private key");
    eq(server.publicKey, t.serverPublicKey, "server public key from its private key");
    eq(client.secret, t.sharedSecret, "client's shared secret = IKM of the handshake secret");
    eq(server.secret, t.sharedSecret, "server's shared secret");
  });

  test("HkdfLabel encodings (the RFC's info blocks)", () => {
    eq(hkdfLabel("derived", fromHex(t.emptyHash), 32), t.derivedInfo, "derived");
    eq(hkdfLabel("c hs traffic", fromHex(t.helloHash), 32), t.clientHsTrafficInfo, "c hs traffic");
    eq(hkdfLabel("s hs traffic", fromHex(t.helloHash), 32), t.serverHsTrafficInfo, "s hs traffic");
    eq(hkdfLabel("c ap traffic", fromHex(t.finishedHash), 32), t.clientApTrafficInfo, "c ap traffic");
    eq(hkdfLabel("s ap traffic", fromHex(t.finishedHash), 32), t.serverApTrafficInfo, "s ap traffic");
    eq(hkdfLabel("exp master", fromHex(t.finishedHash), 32), t.expMasterInfo, "exp master");
    eq(hkdfLabel("res master", fromHex(t.resumptionHash), 32), t.resMasterInfo, "res master");
    eq(hkdfLabel("key", EMPTY, 16), t.keyInfo, "key");
    eq(hkdfLabel("iv", EMPTY, 12), t.ivInfo, "iv");
    eq(hkdfLabel("finished", EMPTY, 32), t.finishedInfo, "finished");
  });

  test("early, handshake and master secrets and both derived secrets", () => {
    eq(crypto.hash(HASH, EMPTY), t.emptyHash, 'Hash("")');
    const early = hkdfExtract(crypto, HASH, EMPTY, ZEROS);
    eq(early, t.earlySecret, "early secret (HKDF-Extract(0, 0))");
    eq(new KeySchedule13(crypto, HASH).earlySecret, t.earlySecret, "KeySchedule13.earlySecret");
    const d1 = deriveSecret(crypto, HASH, early, "derived", fromHex(t.emptyHash));
    eq(d1, t.derivedForHandshake, 'Derive-Secret(early, "derived", "")');
    const hs = hkdfExtract(crypto, HASH, d1, fromHex(t.sharedSecret));
    eq(hs, t.handshakeSecret, "handshake secret");
    const d2 = deriveSecret(crypto, HASH, hs, "derived", fromHex(t.emptyHash));
    eq(d2, t.derivedForMaster, 'Derive-Secret(handshake, "derived", "")');
    eq(hkdfExtract(crypto, HASH, d2, ZEROS), t.masterSecret, "master secret");
    // The traffic secrets straight from the RFC's secrets and hashes, apart from KeySchedule13.
    const ms = fromHex(t.masterSecret);
    eq(deriveSecret(crypto, HASH, hs, "c hs traffic", fromHex(t.helloHash)), t.clientHsTraffic, "c hs");
    eq(deriveSecret(crypto, HASH, ms, "c ap traffic", fromHex(t.finishedHash)), t.clientApTraffic, "c ap");
    eq(deriveSecret(crypto, HASH, ms, "res master", fromHex(t.resumptionHash)), t.resMaster, "res master");
  });

  test("KeySchedule13: handshake, application and resumption secrets over our transcript hashes", () => {
    const r = runSchedule(s);
    eq(r.helloHash, t.helloHash, "Transcript-Hash(ClientHello..ServerHello)");
    eq(r.hs.client, t.clientHsTraffic, "client_handshake_traffic_secret");
    eq(r.hs.server, t.serverHsTraffic, "server_handshake_traffic_secret");
    eq(r.finishedHash, t.finishedHash, "Transcript-Hash(ClientHello..server Finished)");
    eq(r.ap.client, t.clientApTraffic, "client_application_traffic_secret_0");
    eq(r.ap.server, t.serverApTraffic, "server_application_traffic_secret_0");
    eq(r.ap.exporter, t.expMaster, "exporter_master_secret");
    eq(r.resumptionHash, t.resumptionHash, "Transcript-Hash(ClientHello..client Finished)");
    eq(r.resumption, t.resMaster, "resumption_master_secret");
  });

  test("traffic keys and IVs of all four traffic secrets", () => {
    const pairs: Array<[string, string, string, string]> = [
      ["server handshake", t.serverHsTraffic, t.serverHsKey, t.serverHsIv],
      ["client handshake", t.clientHsTraffic, t.clientHsKey, t.clientHsIv],
      ["server application", t.serverApTraffic, t.serverApKey, t.serverApIv],
      ["client application", t.clientApTraffic, t.clientApKey, t.clientApIv],
    ];
    for (const [what, secret, key, iv] of pairs) {
      const k = trafficKeys(crypto, HASH, fromHex(secret), KEY_LENGTH);
      eq(k.key, key, `${what} key`);
      eq(k.iv, iv, `${what} iv`);
    }
  });

  test("server CertificateVerify verifies with the certificate's key over Hash(ClientHello..Certificate)", () => {
    const cert = decodeCertificate13(handshake(t.certificate, HandshakeType.certificate), 10);
    assert.equal(cert.context.length, 0);
    assert.equal(cert.entries.length, 1);
    eq(encodeCertificate13(cert).raw, t.certificate, "re-encoded Certificate");
    const parsed = parseCertificate(cert.entries[0]!.cert);
    const key = crypto.importPublicKey(parsed.spki);
    const cv = decodeCertificateVerify(handshake(t.certificateVerify, HandshakeType.certificate_verify));
    assert.equal(cv.scheme, s.serverScheme);
    const before = s.serverFlight.slice(0, s.serverFlight.indexOf(t.certificateVerify));
    const hash = transcriptHash(...s.beforeServerHello, t.serverHello, ...before);
    const content = certificateVerifyContent("server", hash);
    assert.equal(crypto.verify(cv.scheme, key, content, cv.signature), true, "signature verifies");
    // And the same signature does not verify as a client's, or over another transcript.
    assert.equal(
      crypto.verify(cv.scheme, key, certificateVerifyContent("client", hash), cv.signature),
      false,
    );
    assert.equal(
      crypto.verify(cv.scheme, key, certificateVerifyContent("server", sha256(hash)), cv.signature),
      false,
    );
  });

  test("server Finished over Hash(ClientHello..CertificateVerify)", () => {
    const before = s.serverFlight.slice(0, -1);
    const hash = transcriptHash(...s.beforeServerHello, t.serverHello, ...before);
    const key = hkdfExpandLabel(crypto, HASH, fromHex(t.serverHsTraffic), "finished", EMPTY, 32);
    eq(key, t.serverFinishedKey, "server finished_key");
    const vd = finishedMac(crypto, HASH, fromHex(t.serverHsTraffic), hash);
    eq(vd, t.serverVerifyData, "server verify_data");
    eq(encodeFinished(vd).raw, t.serverFinished, "server Finished message");
    assert.equal(s.serverFlight[s.serverFlight.length - 1], t.serverFinished);
  });

  test("client Finished over Hash(ClientHello..server Finished[, client Certificate, CertificateVerify])", () => {
    const hash = transcriptHash(...s.beforeServerHello, t.serverHello, ...s.serverFlight, ...s.clientAuth);
    const key = hkdfExpandLabel(crypto, HASH, fromHex(t.clientHsTraffic), "finished", EMPTY, 32);
    eq(key, t.clientFinishedKey, "client finished_key");
    const vd = finishedMac(crypto, HASH, fromHex(t.clientHsTraffic), hash);
    eq(vd, t.clientVerifyData, "client verify_data");
    eq(encodeFinished(vd).raw, t.clientFinished, "client Finished message");
  });

  test("server handshake flight: seal reproduces the RFC's record, open recovers the messages", () => {
    eq(fromHex(s.serverFlight.join("")), t.serverFlightPayload, "flight = the messages in order");
    checkRecords(t.serverHsKey, t.serverHsIv, [
      {
        type: ContentType.handshake,
        payload: t.serverFlightPayload,
        record: t.serverFlightRecord,
        what: "server flight",
      },
    ]);
  });

  test("client handshake flight: seal reproduces the RFC's record, open recovers the messages", () => {
    eq(fromHex([...s.clientAuth, t.clientFinished].join("")), t.clientFlightPayload, "client flight");
    checkRecords(t.clientHsKey, t.clientHsIv, [
      {
        type: ContentType.handshake,
        payload: t.clientFlightPayload,
        record: t.clientFlightRecord,
        what: "client flight",
      },
    ]);
  });

  test("application-key records in order (sequence numbers from 0), close_notify last", () => {
    assert.equal(t.clientAlertPayload, "0100");
    assert.equal(t.serverAlertPayload, "0100");
    checkRecords(t.serverApKey, t.serverApIv, [
      ...s.serverApRecords,
      {
        type: ContentType.alert,
        payload: t.serverAlertPayload,
        record: t.serverAlertRecord,
        what: "server close_notify",
      },
    ]);
    checkRecords(t.clientApKey, t.clientApIv, [
      ...s.clientApRecords,
      {
        type: ContentType.alert,
        payload: t.clientAlertPayload,
        record: t.clientAlertRecord,
        what: "client close_notify",
      },
    ]);
  });

  test("open() refuses the RFC's records when altered or under the other direction's keys", () => {
    const fragment = record(t.serverFlightRecord, ContentType.application_data);
    const flipped = fragment.slice();
    flipped[10]! ^= 1;
    const bad = (f: () => unknown) =>
      assert.throws(f, (e: unknown) => e instanceof TLSError && e.alert === AlertDescription.bad_record_mac);
    bad(() => protection(t.serverHsKey, t.serverHsIv).open(ContentType.application_data, 0x0303, flipped));
    bad(() => protection(t.clientHsKey, t.clientHsIv).open(ContentType.application_data, 0x0303, fragment));
    // Sequence number 1 instead of 0: another nonce.
    const p = protection(t.serverHsKey, t.serverHsIv);
    p.setSequenceForTest(1n);
    bad(() => p.open(ContentType.application_data, 0x0303, fragment));
  });
}

describe("RFC 8448 §3 Simple 1-RTT Handshake", () => {
  const t = SIMPLE;
  fullHandshakeTests({
    t,
    group: NamedGroup.x25519,
    exchange: x25519,
    beforeServerHello: [t.clientHello],
    serverFlight: [t.encryptedExtensions, t.certificate, t.certificateVerify, t.serverFinished],
    clientAuth: [],
    serverScheme: SignatureScheme.rsa_pss_rsae_sha256,
    serverApRecords: [
      {
        type: ContentType.handshake,
        payload: t.ticketPayload,
        record: t.ticketRecord,
        what: "NewSessionTicket",
      },
      {
        type: ContentType.application_data,
        payload: t.serverAppDataPayload,
        record: t.serverAppDataRecord,
        what: "server application data",
      },
    ],
    clientApRecords: [
      {
        type: ContentType.application_data,
        payload: t.clientAppDataPayload,
        record: t.clientAppDataRecord,
        what: "client application data",
      },
    ],
  });

  test("EncryptedExtensions decodes and re-encodes", () => {
    const exts = decodeEncryptedExtensions(
      handshake(t.encryptedExtensions, HandshakeType.encrypted_extensions),
    );
    assert.deepEqual(
      exts.map((e) => e.type),
      [ExtensionType.supported_groups, 28 /* record_size_limit */, ExtensionType.server_name],
    );
    assert.deepEqual(
      supportedGroups.decode(ext(exts, ExtensionType.supported_groups)),
      [0x1d, 0x17, 0x18, 0x19, 0x100, 0x101, 0x102, 0x103, 0x104],
    );
    assert.equal(serverName.decode(ext(exts, ExtensionType.server_name)), undefined);
    eq(encodeEncryptedExtensions(exts).raw, t.encryptedExtensions, "re-encoded EncryptedExtensions");
  });

  test("the server certificate is the RFC's 1024-bit RSA key, CN=rsa", () => {
    const cert = decodeCertificate13(handshake(t.certificate, HandshakeType.certificate), 10);
    const parsed = parseCertificate(cert.entries[0]!.cert);
    assert.equal(parsed.subject.toString(), "CN=rsa");
    const key = crypto.importPublicKey(parsed.spki);
    assert.equal(key.type, "rsa");
    assert.equal(key.bits, 1024);
  });

  test("NewSessionTicket decodes; the resumption PSK from its nonce", () => {
    const nst = decodeNewSessionTicket13(handshake(t.newSessionTicket, HandshakeType.new_session_ticket));
    assert.equal(nst.lifetime, 30);
    assert.equal(nst.ageAdd, 0xfad6aac5);
    eq(nst.nonce, t.ticketNonce, 'ticket_nonce = the hash (context) of "tls13 resumption"');
    assert.equal(nst.ticket.length, 178);
    assert.deepEqual(
      nst.extensions.map((e) => [e.type, toHex(e.data)]),
      [[ExtensionType.early_data, "00000400"]],
    );
    eq(encodeNewSessionTicket13(nst).raw, t.newSessionTicket, "re-encoded NewSessionTicket");
    eq(fromHex(t.newSessionTicket), t.ticketPayload, "NewSessionTicket record payload");
    eq(hkdfLabel("resumption", nst.nonce, 32), t.resumptionInfo, 'HkdfLabel("resumption", nonce)');
    const psk = hkdfExpandLabel(crypto, HASH, runSchedule3().resumption, "resumption", nst.nonce, 32);
    eq(psk, t.resumptionPsk, 'PSK = HKDF-Expand-Label(resumption_master_secret, "resumption", nonce)');
  });
});

/** §3's schedule, for the PSK (and §4, which resumes it). */
function runSchedule3() {
  const t = SIMPLE;
  return runSchedule({
    t,
    group: NamedGroup.x25519,
    exchange: x25519,
    beforeServerHello: [t.clientHello],
    serverFlight: [t.encryptedExtensions, t.certificate, t.certificateVerify, t.serverFinished],
    clientAuth: [],
    serverScheme: SignatureScheme.rsa_pss_rsae_sha256,
    serverApRecords: [],
    clientApRecords: [],
  });
}

describe("RFC 8448 §5 HelloRetryRequest", () => {
  const t = HRR;
  const ch1Hash = transcriptHash(t.clientHello1);
  const mh = toHex(messageHash(ch1Hash));
  fullHandshakeTests({
    t,
    group: NamedGroup.secp256r1,
    exchange: p256,
    beforeServerHello: [mh, t.helloRetryRequest, t.clientHello],
    serverFlight: [t.encryptedExtensions, t.certificate, t.certificateVerify, t.serverFinished],
    clientAuth: [],
    serverScheme: SignatureScheme.rsa_pss_rsae_sha256,
    serverApRecords: [],
    clientApRecords: [],
  });

  test("message_hash is handshake type 254, uint24 length, Hash(ClientHello1)", () => {
    eq(messageHash(ch1Hash), `fe000020${toHex(ch1Hash)}`, "message_hash");
  });

  test("the transcript without the message_hash substitution does not give the RFC's secrets", () => {
    // A meaningful negative: ClientHello1 itself in the transcript (no substitution) is wrong.
    const wrong = transcriptHash(t.clientHello1, t.helloRetryRequest, t.clientHello, t.serverHello);
    assert.notEqual(toHex(wrong), t.helloHash);
  });

  test("ClientHello1 offers X25519 only; HelloRetryRequest asks for P-256 with a cookie", () => {
    const ch1 = decodeClientHello(handshake(t.clientHello1, HandshakeType.client_hello));
    const shares = keyShare.decodeClient(ext(ch1.extensions, ExtensionType.key_share));
    assert.deepEqual(
      shares.map((x) => [x.group, toHex(x.keyExchange)]),
      [[NamedGroup.x25519, t.clientX25519PublicKey]],
    );
    eq(encodeClientHello(ch1).raw, t.clientHello1, "re-encoded ClientHello1");
    eq(record(t.clientHello1Record, ContentType.handshake, 0x0301), t.clientHello1, "ClientHello1 record");
    // The client's X25519 public key is its private key's.
    eq(x25519Public(t.clientX25519PrivateKey), t.clientX25519PublicKey, "X25519 public key");

    const hrr = decodeServerHello(handshake(t.helloRetryRequest, HandshakeType.server_hello));
    eq(hrr.random, toHex(HELLO_RETRY_REQUEST_RANDOM), "HelloRetryRequest random");
    assert.equal(hrr.cipherSuite, 0x1301);
    assert.equal(keyShare.decodeRetry(ext(hrr.extensions, ExtensionType.key_share)), NamedGroup.secp256r1);
    assert.equal(
      supportedVersions.decodeServer(ext(hrr.extensions, ExtensionType.supported_versions)),
      0x0304,
    );
    const hrrCookie = cookie.decode(ext(hrr.extensions, ExtensionType.cookie));
    assert.equal(hrrCookie.length, 0x72);
    eq(encodeServerHello(hrr).raw, t.helloRetryRequest, "re-encoded HelloRetryRequest");
    eq(record(t.helloRetryRequestRecord, ContentType.handshake), t.helloRetryRequest, "HRR record");

    // ClientHello2: same random, the cookie echoed, a P-256 share; padded to 512 bytes.
    const ch2 = decodeClientHello(handshake(t.clientHello, HandshakeType.client_hello));
    eq(ch2.random, toHex(ch1.random), "ClientHello2 random = ClientHello1 random");
    eq(cookie.decode(ext(ch2.extensions, ExtensionType.cookie)), toHex(hrrCookie), "cookie echoed");
    assert.equal(fromHex(t.clientHello).length, 512);
  });
});

describe("RFC 8448 §6 Client Authentication", () => {
  const t = CLIENT_AUTH;
  fullHandshakeTests({
    t,
    group: NamedGroup.x25519,
    exchange: x25519,
    beforeServerHello: [t.clientHello],
    serverFlight: [
      t.encryptedExtensions,
      t.certificateRequest,
      t.certificate,
      t.certificateVerify,
      t.serverFinished,
    ],
    clientAuth: [t.clientCertificate, t.clientCertificateVerify],
    serverScheme: SignatureScheme.ecdsa_secp256r1_sha256,
    serverApRecords: [],
    clientApRecords: [],
  });

  test("CertificateRequest decodes (empty context, signature_algorithms) and re-encodes", () => {
    const cr = decodeCertificateRequest13(handshake(t.certificateRequest, HandshakeType.certificate_request));
    assert.equal(cr.context.length, 0);
    assert.deepEqual(
      cr.extensions.map((e) => e.type),
      [ExtensionType.signature_algorithms],
    );
    assert.deepEqual(
      signatureAlgorithms.decode(ext(cr.extensions, ExtensionType.signature_algorithms)),
      [
        0x0403, 0x0503, 0x0603, 0x0203, 0x0804, 0x0805, 0x0806, 0x0401, 0x0501, 0x0601, 0x0201, 0x0402,
        0x0502, 0x0602, 0x0202,
      ],
    );
    eq(encodeCertificateRequest13(cr).raw, t.certificateRequest, "re-encoded CertificateRequest");
  });

  test("the server certificate is ECDSA P-256 (CN=ecdsa256)", () => {
    const cert = decodeCertificate13(handshake(t.certificate, HandshakeType.certificate), 10);
    const parsed = parseCertificate(cert.entries[0]!.cert);
    assert.equal(parsed.subject.toString(), "CN=ecdsa256");
    const key = crypto.importPublicKey(parsed.spki);
    assert.equal(key.type, "ec");
    assert.equal(key.curve, "P-256");
  });

  test("client CertificateVerify verifies over Hash(ClientHello..server Finished, client Certificate)", () => {
    const cert = decodeCertificate13(handshake(t.clientCertificate, HandshakeType.certificate), 10);
    assert.equal(cert.context.length, 0, "certificate_request_context echoes the (empty) request's");
    assert.equal(cert.entries.length, 1);
    eq(encodeCertificate13(cert).raw, t.clientCertificate, "re-encoded client Certificate");
    const parsed = parseCertificate(cert.entries[0]!.cert);
    assert.equal(parsed.subject.toString(), "CN=client");
    const key = crypto.importPublicKey(parsed.spki);
    assert.equal(key.type, "rsa");
    const cv = decodeCertificateVerify(
      handshake(t.clientCertificateVerify, HandshakeType.certificate_verify),
    );
    assert.equal(cv.scheme, SignatureScheme.rsa_pss_rsae_sha256);
    const hash = transcriptHash(
      t.clientHello,
      t.serverHello,
      t.encryptedExtensions,
      t.certificateRequest,
      t.certificate,
      t.certificateVerify,
      t.serverFinished,
      t.clientCertificate,
    );
    assert.equal(crypto.verify(cv.scheme, key, certificateVerifyContent("client", hash), cv.signature), true);
    assert.equal(
      crypto.verify(cv.scheme, key, certificateVerifyContent("server", hash), cv.signature),
      false,
    );
  });
});

describe("RFC 8448 §7 Compatibility Mode", () => {
  const t = COMPAT;
  fullHandshakeTests({
    t,
    group: NamedGroup.x25519,
    exchange: x25519,
    beforeServerHello: [t.clientHello],
    serverFlight: [t.encryptedExtensions, t.certificate, t.certificateVerify, t.serverFinished],
    clientAuth: [],
    serverScheme: SignatureScheme.rsa_pss_rsae_sha256,
    serverApRecords: [],
    clientApRecords: [],
  });

  test("a 32-byte legacy_session_id, echoed; the dummy ChangeCipherSpec records (outside the transcript)", () => {
    const ch = decodeClientHello(handshake(t.clientHello, HandshakeType.client_hello));
    assert.equal(ch.sessionId.length, 32);
    const sh = decodeServerHello(handshake(t.serverHello, HandshakeType.server_hello));
    eq(sh.sessionId, toHex(ch.sessionId), "session id echoed");
    const ccs = toHex(concat(recordHeader(ContentType.change_cipher_spec, 0x0303, 1), Uint8Array.of(1)));
    assert.equal(t.serverChangeCipherSpecRecord, ccs);
    assert.equal(t.clientChangeCipherSpecRecord, ccs);
  });
});

// ---- §4: resumption with 0-RTT ------------------------------------------------------------------

describe("RFC 8448 §4 Resumed 0-RTT Handshake", () => {
  const t = RESUMED;

  test("the PSK is §3's resumption PSK; early secret from it", () => {
    eq(runSchedule3().resumption, SIMPLE.resMaster, "§3 resumption_master_secret");
    assert.equal(t.psk, SIMPLE.resumptionPsk);
    eq(hkdfExtract(crypto, HASH, EMPTY, fromHex(t.psk)), t.earlySecret, "HKDF-Extract(0, PSK)");
    eq(new KeySchedule13(crypto, HASH, fromHex(t.psk)).earlySecret, t.earlySecret, "KeySchedule13 with PSK");
  });

  test("ClientHello: pre_shared_key last, identity = §3's ticket, binder = the RFC's", () => {
    const ch = decodeClientHello(handshake(t.clientHello, HandshakeType.client_hello));
    eq(encodeClientHello(ch).raw, t.clientHello, "re-encoded ClientHello");
    eq(record(t.clientHelloRecord, ContentType.handshake, 0x0301), t.clientHello, "ClientHello record");
    const last = ch.extensions[ch.extensions.length - 1]!;
    assert.equal(last.type, ExtensionType.pre_shared_key);
    assert.ok(findExtension(ch.extensions, ExtensionType.early_data));
    eq(
      keyShare.decodeClient(ext(ch.extensions, ExtensionType.key_share))[0]!.keyExchange,
      t.clientPublicKey,
      "share",
    );
    // struct { PskIdentity identities<7..2^16-1>; PskBinderEntry binders<33..2^16-1>; } OfferedPsks;
    const r = new Reader(last.data);
    const ids = r.sub(2);
    const identity = ids.vec16(1);
    const obfuscatedAge = ids.u32();
    assert.ok(ids.atEnd());
    const binders = r.sub(2);
    const binder = binders.vec8(32);
    assert.ok(binders.atEnd() && r.atEnd());
    const nst = decodeNewSessionTicket13(
      handshake(SIMPLE.newSessionTicket, HandshakeType.new_session_ticket),
    );
    eq(identity, toHex(nst.ticket), "PSK identity = the §3 ticket");
    assert.equal((obfuscatedAge - nst.ageAdd) >>> 0, 6, "obfuscated_ticket_age - ticket_age_add (ms)");
    eq(binder, t.binder, "the binder in the ClientHello");
    // The truncated ClientHello (RFC 8446 §4.2.11.2) is all but the binders list.
    eq(
      fromHex(t.clientHello).subarray(0, fromHex(t.clientHello).length - 2 - 33),
      t.clientHelloPrefix,
      "prefix",
    );
  });

  test("PSK binder: binder_key, finished key, HMAC over Hash(truncated ClientHello)", () => {
    const early = fromHex(t.earlySecret);
    const binderKey = deriveSecret(crypto, HASH, early, "res binder", crypto.hash(HASH, EMPTY));
    eq(binderKey, t.binderKey, 'binder_key = Derive-Secret(early, "res binder", "")');
    const hash = transcriptHash(t.clientHelloPrefix);
    eq(hash, t.binderHash, "Transcript-Hash(truncated ClientHello)");
    eq(hkdfExpandLabel(crypto, HASH, binderKey, "finished", EMPTY, 32), t.binderFinishedKey, "finished key");
    eq(finishedMac(crypto, HASH, binderKey, hash), t.binder, "binder");
  });

  test("0-RTT: client_early_traffic_secret, early exporter, keys, and the early data record", () => {
    const early = fromHex(t.earlySecret);
    const hash = transcriptHash(t.clientHello);
    eq(hash, t.clientHelloHash, "Transcript-Hash(ClientHello)");
    const cet = deriveSecret(crypto, HASH, early, "c e traffic", hash);
    eq(cet, t.clientEarlyTraffic, "client_early_traffic_secret");
    eq(
      deriveSecret(crypto, HASH, early, "e exp master", hash),
      t.earlyExporterMaster,
      "early_exporter_master",
    );
    const k = trafficKeys(crypto, HASH, cet, KEY_LENGTH);
    eq(k.key, t.clientEarlyKey, "early key");
    eq(k.iv, t.clientEarlyIv, "early iv");
    // Under the early keys: the 0-RTT data (sequence 0), then EndOfEarlyData (sequence 1).
    assert.equal(t.endOfEarlyData, "05000000");
    checkRecords(t.clientEarlyKey, t.clientEarlyIv, [
      {
        type: ContentType.application_data,
        payload: t.earlyDataPayload,
        record: t.earlyDataRecord,
        what: "early data",
      },
      {
        type: ContentType.handshake,
        payload: t.endOfEarlyData,
        record: t.endOfEarlyDataRecord,
        what: "EndOfEarlyData",
      },
    ]);
  });

  test("ServerHello selects PSK identity 0 with an X25519 share; the shared secret on node:crypto", () => {
    const sh = decodeServerHello(handshake(t.serverHello, HandshakeType.server_hello));
    eq(encodeServerHello(sh).raw, t.serverHello, "re-encoded ServerHello");
    eq(record(t.serverHelloRecord, ContentType.handshake), t.serverHello, "ServerHello record");
    eq(ext(sh.extensions, ExtensionType.pre_shared_key), "0000", "selected_identity 0");
    eq(
      keyShare.decodeServer(ext(sh.extensions, ExtensionType.key_share)).keyExchange,
      t.serverPublicKey,
      "share",
    );
    const c = x25519(t.clientPrivateKey, t.serverPublicKey);
    const s = x25519(t.serverPrivateKey, t.clientPublicKey);
    eq(c.publicKey, t.clientPublicKey, "client public key");
    eq(s.publicKey, t.serverPublicKey, "server public key");
    eq(c.secret, t.sharedSecret, "client shared secret");
    eq(s.secret, t.sharedSecret, "server shared secret");
  });

  test("the schedule from the PSK: handshake, master, application and resumption secrets", () => {
    const early = fromHex(t.earlySecret);
    const d1 = deriveSecret(crypto, HASH, early, "derived", crypto.hash(HASH, EMPTY));
    eq(d1, t.derivedForHandshake, "derived (handshake)");
    const hsSecret = hkdfExtract(crypto, HASH, d1, fromHex(t.sharedSecret));
    eq(hsSecret, t.handshakeSecret, "handshake secret");
    const d2 = deriveSecret(crypto, HASH, hsSecret, "derived", crypto.hash(HASH, EMPTY));
    eq(d2, t.derivedForMaster, "derived (master)");
    eq(hkdfExtract(crypto, HASH, d2, ZEROS), t.masterSecret, "master secret");

    const ks = new KeySchedule13(crypto, HASH, fromHex(t.psk));
    const helloHash = transcriptHash(t.clientHello, t.serverHello);
    eq(helloHash, t.helloHash, "Hash(ClientHello..ServerHello)");
    const hs = ks.handshake(fromHex(t.sharedSecret), helloHash);
    eq(hs.client, t.clientHsTraffic, "c hs traffic");
    eq(hs.server, t.serverHsTraffic, "s hs traffic");
    const finishedHash = transcriptHash(
      t.clientHello,
      t.serverHello,
      t.encryptedExtensions,
      t.serverFinished,
    );
    eq(finishedHash, t.finishedHash, "Hash(ClientHello..server Finished)");
    const ap = ks.application(finishedHash);
    eq(ap.client, t.clientApTraffic, "c ap traffic");
    eq(ap.server, t.serverApTraffic, "s ap traffic");
    eq(ap.exporter, t.expMaster, "exp master");
    // EndOfEarlyData is in the transcript of the client Finished (RFC 8446 §4.4.1).
    const resHash = transcriptHash(
      t.clientHello,
      t.serverHello,
      t.encryptedExtensions,
      t.serverFinished,
      t.endOfEarlyData,
      t.clientFinished,
    );
    eq(resHash, t.resumptionHash, "Hash(ClientHello..client Finished)");
    eq(ks.resumption(resHash), t.resMaster, "res master");

    const pairs: Array<[string, string, string, string]> = [
      ["server handshake", t.serverHsTraffic, t.serverHsKey, t.serverHsIv],
      ["client handshake", t.clientHsTraffic, t.clientHsKey, t.clientHsIv],
      ["server application", t.serverApTraffic, t.serverApKey, t.serverApIv],
      ["client application", t.clientApTraffic, t.clientApKey, t.clientApIv],
    ];
    for (const [what, secret, key, iv] of pairs) {
      const k = trafficKeys(crypto, HASH, fromHex(secret), KEY_LENGTH);
      eq(k.key, key, `${what} key`);
      eq(k.iv, iv, `${what} iv`);
    }
  });

  test("both Finished, and every record of the handshake and after", () => {
    const sHash = transcriptHash(t.clientHello, t.serverHello, t.encryptedExtensions);
    eq(
      hkdfExpandLabel(crypto, HASH, fromHex(t.serverHsTraffic), "finished", EMPTY, 32),
      t.serverFinishedKey,
      "s key",
    );
    const svd = finishedMac(crypto, HASH, fromHex(t.serverHsTraffic), sHash);
    eq(svd, t.serverVerifyData, "server verify_data");
    eq(encodeFinished(svd).raw, t.serverFinished, "server Finished");
    const cHash = transcriptHash(
      t.clientHello,
      t.serverHello,
      t.encryptedExtensions,
      t.serverFinished,
      t.endOfEarlyData,
    );
    eq(
      hkdfExpandLabel(crypto, HASH, fromHex(t.clientHsTraffic), "finished", EMPTY, 32),
      t.clientFinishedKey,
      "c key",
    );
    const cvd = finishedMac(crypto, HASH, fromHex(t.clientHsTraffic), cHash);
    eq(cvd, t.clientVerifyData, "client verify_data");
    eq(encodeFinished(cvd).raw, t.clientFinished, "client Finished");

    const exts = decodeEncryptedExtensions(
      handshake(t.encryptedExtensions, HandshakeType.encrypted_extensions),
    );
    eq(ext(exts, ExtensionType.early_data), "", "early_data accepted (empty)");
    eq(encodeEncryptedExtensions(exts).raw, t.encryptedExtensions, "re-encoded EncryptedExtensions");

    eq(fromHex(t.encryptedExtensions + t.serverFinished), t.serverFlightPayload, "server flight");
    checkRecords(t.serverHsKey, t.serverHsIv, [
      {
        type: ContentType.handshake,
        payload: t.serverFlightPayload,
        record: t.serverFlightRecord,
        what: "server flight",
      },
    ]);
    checkRecords(t.clientHsKey, t.clientHsIv, [
      {
        type: ContentType.handshake,
        payload: t.clientFinished,
        record: t.clientFlightRecord,
        what: "client Finished",
      },
    ]);
    checkRecords(t.clientApKey, t.clientApIv, [
      {
        type: ContentType.application_data,
        payload: t.clientAppDataPayload,
        record: t.clientAppDataRecord,
        what: "client application data",
      },
      { type: ContentType.alert, payload: "0100", record: t.clientAlertRecord, what: "client close_notify" },
    ]);
    checkRecords(t.serverApKey, t.serverApIv, [
      {
        type: ContentType.application_data,
        payload: t.serverAppDataPayload,
        record: t.serverAppDataRecord,
        what: "server application data",
      },
      { type: ContentType.alert, payload: "0100", record: t.serverAlertRecord, what: "server close_notify" },
    ]);
  });
});
