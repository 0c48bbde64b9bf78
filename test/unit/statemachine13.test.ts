import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { AlertDescription } from "../../src/alert.js";
import { ClientConfig, type ClientOptions, ServerConfig, type ServerOptions } from "../../src/config.js";
import { ClientConnection, type Connection, ServerConnection } from "../../src/connection.js";
import { ContentType, ExtensionType, HandshakeType, NamedGroup } from "../../src/constants.js";
import { nodeCrypto } from "../../src/crypto/node.js";
import type { TLSError } from "../../src/errors.js";
import { trafficKeys } from "../../src/handshake/keyschedule13.js";
import { decodeClientHello, encodeClientHello } from "../../src/handshake/messages/client-hello.js";
import { keyShare, supportedGroups, supportedVersions } from "../../src/handshake/messages/extensions.js";
import { frameHandshake, type HandshakeMessage } from "../../src/handshake/messages/framing.js";
import { decodeServerHello, encodeServerHello } from "../../src/handshake/messages/server-hello.js";
import {
  encodeEncryptedExtensions,
  encodeKeyUpdate,
  HELLO_RETRY_REQUEST_RANDOM,
} from "../../src/handshake/messages/tls13.js";
import { Aead13Protection } from "../../src/record/protection.js";
import { concat, fromHex } from "../../src/wire/bytes.js";
import { demo, pump } from "./pair.js";
import { frameRecord, handshakeMessages, handshakeRecord, parseRecords } from "./records.js";

function watch(conn: Connection) {
  const errors: TLSError[] = [];
  conn.on("error", (e) => errors.push(e));
  return errors;
}

function expectFailure(conn: Connection, errors: TLSError[], alert: AlertDescription): void {
  assert.equal(
    errors.length,
    1,
    `expected one error, got: ${errors.map((e) => e.message).join("; ") || "none"}`,
  );
  assert.equal(errors[0]!.alertName, AlertDescription[alert], errors[0]!.message);
  assert.equal(errors[0]!.sentBy, "local");
  assert.equal(conn.connectionState, "closed");
  const last = parseRecords(conn.takeOutgoing()).at(-1);
  assert.ok(last, "an alert record must be sent");
  // Before handshake keys the alert is readable; after, it is an encrypted record (outer type 23).
  assert.ok(last.type === ContentType.alert || last.type === ContentType.application_data);
  if (last.type === ContentType.alert) assert.deepEqual(Array.from(last.fragment), [2, alert]);
}

function client(opts: ClientOptions = {}) {
  const c = new ClientConnection(new ClientConfig({ ca: demo.ca, ...opts }), { serverName: "localhost" });
  const keylog = new Map<string, Uint8Array>();
  c.on("keylog", (line) => {
    const [label, , secret] = line.split(" ");
    keylog.set(label!, fromHex(secret!));
  });
  return { c, errors: watch(c), hello: c.takeOutgoing(), keylog };
}
function server(opts: Partial<ServerOptions> = {}) {
  const s = new ServerConnection(new ServerConfig({ cert: demo.cert, key: demo.key, ...opts }));
  return { s, errors: watch(s) };
}

/** Replaces the extensions of a recorded ClientHello. */
function editHello(
  record: Uint8Array,
  edit: (exts: { type: number; data: Uint8Array }[]) => { type: number; data: Uint8Array }[],
  over = {},
) {
  const msg = handshakeMessages(parseRecords(record))[0]!;
  const h = decodeClientHello(msg.body);
  return handshakeRecord([encodeClientHello({ ...h, extensions: edit(h.extensions), ...over })], 0x0301);
}

describe("TLS 1.3 client rejects bad server messages", () => {
  function flight(serverOpts: Partial<ServerOptions> = {}, clientOpts: ClientOptions = {}) {
    const a = client(clientOpts);
    const b = server(serverOpts);
    b.s.receive(a.hello);
    assert.deepEqual(b.errors, []);
    return { c: a.c, errors: a.errors, keylog: a.keylog, s: b.s, flight: parseRecords(b.s.takeOutgoing()) };
  }
  const firstMsg = (f: ReturnType<typeof flight>) => handshakeMessages(f.flight.slice(0, 1))[0]!;
  const feedSh = (f: ReturnType<typeof flight>, edit: (sh: ReturnType<typeof decodeServerHello>) => void) => {
    const sh = decodeServerHello(firstMsg(f).body);
    edit(sh);
    f.c.receive(handshakeRecord([encodeServerHello(sh)]));
  };

  test("supported_versions selecting TLS 1.2 is illegal_parameter", () => {
    const f = flight();
    feedSh(f, (sh) => {
      sh.extensions = sh.extensions.map((e) =>
        e.type === ExtensionType.supported_versions
          ? { type: e.type, data: supportedVersions.encodeServer(0x0303) }
          : e,
      );
    });
    expectFailure(f.c, f.errors, AlertDescription.illegal_parameter);
  });

  test("legacy_session_id_echo that differs", () => {
    const f = flight();
    feedSh(f, (sh) => {
      sh.sessionId = new Uint8Array(32);
    });
    expectFailure(f.c, f.errors, AlertDescription.illegal_parameter);
  });

  test("a cipher suite that was not offered", () => {
    const f = flight({}, { cipherSuites: ["TLS_AES_256_GCM_SHA384"] });
    feedSh(f, (sh) => {
      sh.cipherSuite = 0x1301;
    });
    expectFailure(f.c, f.errors, AlertDescription.illegal_parameter);
  });

  test("a key share for a group the client sent no share for", () => {
    const f = flight();
    feedSh(f, (sh) => {
      sh.extensions = sh.extensions.map((e) =>
        e.type === ExtensionType.key_share
          ? {
              type: e.type,
              data: keyShare.encodeServer({
                group: NamedGroup.secp256r1,
                keyExchange: new Uint8Array(65).fill(4),
              }),
            }
          : e,
      );
    });
    expectFailure(f.c, f.errors, AlertDescription.illegal_parameter);
  });

  test("an extension not allowed in ServerHello", () => {
    const f = flight();
    feedSh(f, (sh) => {
      sh.extensions.push({ type: ExtensionType.signature_algorithms, data: Uint8Array.of(0, 2, 4, 3) });
    });
    expectFailure(f.c, f.errors, AlertDescription.illegal_parameter);
  });

  test("handshake data in the same record as ServerHello, across the key change", () => {
    const f = flight();
    const sh = firstMsg(f);
    f.c.receive(
      handshakeRecord([sh, frameHandshake(HandshakeType.encrypted_extensions, Uint8Array.of(0, 0))]),
    );
    expectFailure(f.c, f.errors, AlertDescription.unexpected_message);
  });

  const hrrFrom = (f: ReturnType<typeof flight>, group: number, withCookie = false): HandshakeMessage => {
    const sh = decodeServerHello(firstMsg(f).body);
    return encodeServerHello({
      ...sh,
      random: HELLO_RETRY_REQUEST_RANDOM,
      extensions: [
        { type: ExtensionType.supported_versions, data: supportedVersions.encodeServer(0x0304) },
        { type: ExtensionType.key_share, data: keyShare.encodeRetry(group) },
        ...(withCookie ? [{ type: ExtensionType.cookie, data: Uint8Array.of(0, 3, 1, 2, 3) }] : []),
      ],
    });
  };

  test("HelloRetryRequest: answered once with the asked group and the cookie; a second one is unexpected_message", () => {
    const f = flight();
    f.c.receive(handshakeRecord([hrrFrom(f, NamedGroup.secp384r1, true)]));
    assert.deepEqual(f.errors, []);
    const ch2 = decodeClientHello(handshakeMessages(parseRecords(f.c.takeOutgoing()))[0]!.body);
    const ks = keyShare.decodeClient(ch2.extensions.find((e) => e.type === ExtensionType.key_share)!.data);
    assert.deepEqual(
      ks.map((k) => k.group),
      [NamedGroup.secp384r1],
    );
    assert.ok(
      ch2.extensions.some((e) => e.type === ExtensionType.cookie),
      "the cookie is echoed",
    );
    f.c.receive(handshakeRecord([hrrFrom(f, NamedGroup.secp256r1)]));
    expectFailure(f.c, f.errors, AlertDescription.unexpected_message);
  });

  test("HelloRetryRequest for a group already shared, or not offered, is illegal_parameter", () => {
    const f1 = flight();
    f1.c.receive(handshakeRecord([hrrFrom(f1, NamedGroup.x25519)]));
    expectFailure(f1.c, f1.errors, AlertDescription.illegal_parameter);
    const f2 = flight({}, { groups: ["X25519", "P-256"] });
    f2.c.receive(handshakeRecord([hrrFrom(f2, NamedGroup.secp384r1)]));
    expectFailure(f2.c, f2.errors, AlertDescription.illegal_parameter);
  });

  test("a forbidden extension in EncryptedExtensions (re-encrypted under the real handshake keys)", () => {
    const f = flight();
    f.c.receive(concat(...f.flight.slice(0, 2).map(frameRecord))); // ServerHello, dummy CCS
    assert.deepEqual(f.errors, []);
    const secret = f.keylog.get("SERVER_HANDSHAKE_TRAFFIC_SECRET")!;
    const k = trafficKeys(nodeCrypto, "sha256", secret, 16);
    const ee = encodeEncryptedExtensions([
      { type: ExtensionType.key_share, data: Uint8Array.of(0, 0x1d, 0, 1, 1) },
    ]);
    const sealed = new Aead13Protection(nodeCrypto, "aes-128-gcm", k.key, k.iv).seal(
      ContentType.handshake,
      0x0303,
      ee.raw,
    );
    f.c.receive(frameRecord({ type: sealed.type, version: 0x0303, fragment: sealed.fragment }));
    expectFailure(f.c, f.errors, AlertDescription.illegal_parameter);
  });
});

describe("downgrade protection (RFC 8446 §4.1.3)", () => {
  test("a TLS 1.3 client refuses a TLS 1.2 ServerHello carrying the downgrade sentinel", () => {
    const a = client();
    const b = server();
    // A man in the middle strips supported_versions: the 1.3-capable server then picks 1.2 and says so in its random.
    b.s.receive(
      editHello(a.hello, (exts) => exts.filter((e) => e.type !== ExtensionType.supported_versions)),
    );
    assert.deepEqual(b.errors, []);
    const out = parseRecords(b.s.takeOutgoing());
    const sh = decodeServerHello(handshakeMessages(out)[0]!.body);
    assert.equal(sh.legacyVersion, 0x0303);
    assert.deepEqual(Array.from(sh.random.subarray(24)), [0x44, 0x4f, 0x57, 0x4e, 0x47, 0x52, 0x44, 0x01]);
    a.c.receive(concat(...out.map(frameRecord)));
    expectFailure(a.c, a.errors, AlertDescription.illegal_parameter);
    assert.match(a.errors[0]!.message, /downgrade/);
  });

  test("a TLS 1.2-only client accepts the sentinel (it cannot have been downgraded)", () => {
    const a = client({ maxVersion: "TLSv1.2" });
    const b = server();
    b.s.receive(a.hello);
    pump(a.c, b.s);
    assert.deepEqual(a.errors, []);
    assert.equal(a.c.info?.protocol, "TLSv1.2");
  });
});

describe("TLS 1.3 server rejects bad client messages", () => {
  const base = () => client().hello;

  test("compression methods other than exactly [null]", () => {
    const b = server();
    b.s.receive(editHello(base(), (e) => e, { compressionMethods: [0, 1] }));
    expectFailure(b.s, b.errors, AlertDescription.illegal_parameter);
  });

  test("no key_share", () => {
    const b = server();
    b.s.receive(editHello(base(), (exts) => exts.filter((e) => e.type !== ExtensionType.key_share)));
    expectFailure(b.s, b.errors, AlertDescription.missing_extension);
  });

  test("a key share for a group not in supported_groups", () => {
    const b = server();
    b.s.receive(
      editHello(base(), (exts) =>
        exts.map((e) =>
          e.type === ExtensionType.supported_groups
            ? { type: e.type, data: supportedGroups.encode([NamedGroup.secp256r1]) }
            : e,
        ),
      ),
    );
    expectFailure(b.s, b.errors, AlertDescription.illegal_parameter);
  });

  test("only TLS 1.3 offered to a TLS 1.2-only server is protocol_version", () => {
    const b = server({ maxVersion: "TLSv1.2" });
    b.s.receive(client({ minVersion: "TLSv1.3" }).hello);
    expectFailure(b.s, b.errors, AlertDescription.protocol_version);
  });

  test("ChangeCipherSpec before the ClientHello, and a second dummy ChangeCipherSpec", () => {
    const b = server();
    b.s.receive(
      frameRecord({ type: ContentType.change_cipher_spec, version: 0x0303, fragment: Uint8Array.of(1) }),
    );
    expectFailure(b.s, b.errors, AlertDescription.unexpected_message);
    const c2 = server();
    c2.s.receive(base());
    c2.s.takeOutgoing();
    const ccs = frameRecord({
      type: ContentType.change_cipher_spec,
      version: 0x0303,
      fragment: Uint8Array.of(1),
    });
    c2.s.receive(ccs);
    assert.deepEqual(c2.errors, [], "one dummy ChangeCipherSpec is dropped");
    c2.s.receive(ccs);
    expectFailure(c2.s, c2.errors, AlertDescription.unexpected_message);
  });

  test("rejected 0-RTT: early data records are skipped up to a bound (RFC 8446 §4.2.10)", () => {
    const b = server();
    b.s.receive(
      editHello(base(), (exts) => [...exts, { type: ExtensionType.early_data, data: new Uint8Array(0) }]),
    );
    b.s.takeOutgoing();
    const junk = frameRecord({
      type: ContentType.application_data,
      version: 0x0303,
      fragment: nodeCrypto.random(16384),
    });
    for (let i = 0; i < 4; i++) b.s.receive(junk);
    assert.deepEqual(b.errors, [], "early data within the bound is skipped");
    b.s.receive(junk);
    expectFailure(b.s, b.errors, AlertDescription.unexpected_message);
    // Without early_data offered, the same record is simply a bad record.
    const c2 = server();
    c2.s.receive(base());
    c2.s.takeOutgoing();
    c2.s.receive(junk);
    expectFailure(c2.s, c2.errors, AlertDescription.bad_record_mac);
  });

  test("HelloRetryRequest, then a second ClientHello without the requested share", () => {
    const a = client({ groups: ["X25519", "P-384"] });
    const b = server({ groups: ["P-384"] });
    b.s.receive(a.hello);
    const hrr = decodeServerHello(handshakeMessages(parseRecords(b.s.takeOutgoing()))[0]!.body);
    assert.deepEqual(hrr.random, HELLO_RETRY_REQUEST_RANDOM);
    b.s.receive(a.hello); // the same ClientHello again: still no P-384 share
    expectFailure(b.s, b.errors, AlertDescription.illegal_parameter);
  });

  test("HelloRetryRequest end to end (server accepts only P-384)", () => {
    const a = client({ groups: ["X25519", "P-384"] });
    const b = server({ groups: ["P-384"] });
    b.s.receive(a.hello);
    pump(a.c, b.s);
    assert.deepEqual([...a.errors, ...b.errors], []);
    assert.equal(a.c.info?.group, NamedGroup.secp384r1);
    assert.equal(a.c.info?.helloRetry, true);
    assert.equal(b.s.info?.helloRetry, true);
  });

  test("client certificate required but not sent: certificate_required", () => {
    const a = client();
    const b = server({ clientAuth: "require", ca: demo.ca });
    b.s.receive(a.hello);
    pump(a.c, b.s);
    assert.equal(b.errors[0]?.alertName, "certificate_required");
    assert.equal(a.c.error?.alertName, "certificate_required");
    assert.equal(a.c.error?.sentBy, "peer");
  });

  test("client certificates in TLS 1.3, requested and required", () => {
    for (const clientAuth of ["request", "require"] as const) {
      const a = client({ cert: demo.clientCert, key: demo.clientKey });
      const b = server({ clientAuth, ca: demo.ca });
      b.s.receive(a.hello);
      pump(a.c, b.s);
      assert.deepEqual([...a.errors, ...b.errors], [], clientAuth);
      assert.equal(b.s.info?.peerVerified, true);
      assert.match(b.s.info?.peerCertificates[0]?.subject.toString() ?? "", /TypeTLS demo client/);
    }
  });
});

describe("TLS 1.3 post-handshake", () => {
  function established() {
    const a = client();
    const b = server();
    b.s.receive(a.hello);
    pump(a.c, b.s);
    assert.deepEqual([...a.errors, ...b.errors], []);
    return { ...a, ...b };
  }

  test("KeyUpdate with update_requested is answered; data keeps flowing both ways", () => {
    const e = established();
    const traces: string[] = [];
    e.s.on("trace", (t) => traces.push(`${t.direction} ${t.message} ${t.fields.request ?? ""}`));
    e.c.updateKeys(true);
    pump(e.c, e.s);
    assert.deepEqual(traces, ["recv KeyUpdate update_requested", "send KeyUpdate update_not_requested"]);
    let got = "";
    e.c.on("data", (d) => {
      got += new TextDecoder().decode(d);
    });
    e.s.write(new TextEncoder().encode("fresh keys"));
    pump(e.c, e.s);
    assert.equal(got, "fresh keys");
  });

  test("a KeyUpdate flood without application data is unexpected_message", () => {
    const e = established();
    for (let i = 0; i < 40; i++) e.c.updateKeys(false);
    e.s.receive(e.c.takeOutgoing());
    expectFailure(e.s, e.errors, AlertDescription.unexpected_message);
  });

  test("a KeyUpdate with an invalid request value is illegal_parameter", () => {
    const e = established();
    const bad = frameHandshake(HandshakeType.key_update, Uint8Array.of(7));
    (e.c as unknown as { writeRecords(t: number, d: Uint8Array): void }).writeRecords(
      ContentType.handshake,
      bad.raw,
    );
    e.s.receive(e.c.takeOutgoing());
    expectFailure(e.s, e.errors, AlertDescription.illegal_parameter);
    assert.equal(encodeKeyUpdate(true).body[0], 1);
  });

  test("a ChangeCipherSpec after the handshake is unexpected_message", () => {
    const e = established();
    e.s.receive(
      frameRecord({ type: ContentType.change_cipher_spec, version: 0x0303, fragment: Uint8Array.of(1) }),
    );
    expectFailure(e.s, e.errors, AlertDescription.unexpected_message);
  });
});

describe("HelloRetryRequest with only a cookie (RFC 8446 §4.2.2)", () => {
  test("the shares stay; the server may pick any of them", () => {
    const a = client(); // shares X25519MLKEM768 and X25519
    const b = server({ groups: ["X25519"] });
    b.s.receive(a.hello);
    const real = decodeServerHello(handshakeMessages(parseRecords(b.s.takeOutgoing()))[0]!.body);
    // What a stateless server sends first: a cookie, no key_share.
    const hrr = encodeServerHello({
      ...real,
      random: HELLO_RETRY_REQUEST_RANDOM,
      extensions: [
        { type: ExtensionType.supported_versions, data: supportedVersions.encodeServer(0x0304) },
        { type: ExtensionType.cookie, data: Uint8Array.of(0, 2, 9, 9) },
      ],
    });
    a.c.receive(handshakeRecord([hrr]));
    assert.deepEqual(a.errors, []);
    const ch2 = handshakeMessages(parseRecords(a.c.takeOutgoing()))[0]!;
    const shares = keyShare.decodeClient(
      decodeClientHello(ch2.body).extensions.find((e) => e.type === ExtensionType.key_share)!.data,
    );
    assert.deepEqual(
      shares.map((s) => s.group),
      [NamedGroup.X25519MLKEM768, NamedGroup.x25519],
    );
  });
});
