import assert from "node:assert/strict";
import { before, describe, test } from "node:test";
import { AlertDescription, AlertLevel } from "../../src/alert.js";
import { ClientConfig, ServerConfig } from "../../src/config.js";
import { ClientConnection, ServerConnection } from "../../src/connection.js";
import type { TLSError } from "../../src/errors.js";
import { type StandardPki, standardPki } from "../fixtures/pki.js";
import { pump } from "./pair.js";
import { plaintextAlerts } from "./records.js";

let pki: StandardPki;
before(async () => {
  pki = await standardPki();
});

/** Runs a handshake and returns the client's error and the alerts the client put on the wire. */
function run(
  clientOpts: ConstructorParameters<typeof ClientConfig>[0],
  serverName: string,
  serverCert = pki.p256,
) {
  const c = new ClientConnection(new ClientConfig({ maxVersion: "TLSv1.2", ...clientOpts }), { serverName });
  const s = new ServerConnection(
    new ServerConfig({ cert: serverCert.chainPem, key: serverCert.leaf.keyPem }),
  );
  let wire = new Uint8Array(0);
  let serverError: TLSError | null = null;
  s.on("error", (e) => {
    serverError = e;
  });
  for (let i = 0; i < 20; i++) {
    const x = c.takeOutgoing();
    const y = s.takeOutgoing();
    if (!x.length && !y.length) break;
    if (x.length) {
      wire = new Uint8Array([...wire, ...x]);
      s.receive(x);
    }
    if (y.length) c.receive(y);
  }
  return {
    error: c.error,
    alerts: plaintextAlerts(wire),
    serverError: serverError as TLSError | null,
    info: c.info,
  };
}

describe("server certificate verification by the client", () => {
  test("a trusted chain and matching name verify (names and IP)", () => {
    for (const name of ["localhost", "typetls.test", "www.typetls.test", "127.0.0.1"]) {
      const r = run({ ca: pki.p256.root.certPem }, name);
      assert.equal(r.error, null, `${name}: ${r.error?.message}`);
      assert.equal(r.info?.peerVerified, true);
    }
  });

  const cases: Array<[string, () => ReturnType<typeof run>, AlertDescription, string]> = [
    [
      "wrong hostname",
      () => run({ ca: pki.p256.root.certPem }, "evil.example"),
      AlertDescription.bad_certificate,
      "ERR_TLS_CERT_ALTNAME_INVALID",
    ],
    [
      "wildcard is one label only",
      () => run({ ca: pki.p256.root.certPem }, "a.b.typetls.test"),
      AlertDescription.bad_certificate,
      "ERR_TLS_CERT_ALTNAME_INVALID",
    ],
    [
      "untrusted chain",
      () => run({ ca: pki.rsa.root.certPem }, "localhost"),
      AlertDescription.unknown_ca,
      "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
    ],
    [
      "expired certificate",
      () => run({ ca: pki.expired.root.certPem }, "localhost", pki.expired),
      AlertDescription.certificate_expired,
      "CERT_HAS_EXPIRED",
    ],
    ["default roots do not trust a private CA", () => run({}, "localhost"), AlertDescription.unknown_ca, ""],
  ];
  for (const [name, fn, alert, code] of cases) {
    test(name, () => {
      const r = fn();
      assert.ok(r.error, "the handshake must fail");
      assert.equal(r.error.alertName, AlertDescription[alert], r.error.message);
      if (code) assert.equal(r.error.code, code);
      assert.equal(r.error.sentBy, "local");
      assert.deepEqual(r.alerts.at(-1), [AlertLevel.fatal, alert], "the alert on the wire");
      assert.equal(r.serverError?.sentBy, "peer", "the server learns of it through the alert");
    });
  }

  test("rejectUnauthorized: false accepts anything and says so", () => {
    const r = run({ rejectUnauthorized: false }, "evil.example", pki.expired);
    assert.equal(r.error, null);
    assert.equal(r.info?.peerVerified, false);
  });
});

describe("client certificates", () => {
  function mtls(clientAuth: "request" | "require", withCert: boolean, ca = pki.client.root.certPem) {
    const c = new ClientConnection(
      new ClientConfig({
        maxVersion: "TLSv1.2",
        ca: pki.p256.root.certPem,
        ...(withCert ? { cert: pki.client.chainPem, key: pki.client.leaf.keyPem } : {}),
      }),
      { serverName: "localhost" },
    );
    const s = new ServerConnection(
      new ServerConfig({ cert: pki.p256.chainPem, key: pki.p256.leaf.keyPem, clientAuth, ca }),
    );
    pump(c, s);
    return { c, s };
  }
  test("requested and sent: verified, subject visible to the server", () => {
    const { c, s } = mtls("request", true);
    assert.equal(c.error, null);
    assert.equal(s.info?.peerVerified, true);
    assert.match(s.info?.peerCertificates[0]?.subject.toString() ?? "", /CN=typetls client/);
    assert.ok(s.info?.peerSignatureScheme, "CertificateVerify was checked");
  });
  test("requested and not sent: handshake completes without a client identity", () => {
    const { c, s } = mtls("request", false);
    assert.equal(c.error, null);
    assert.equal(s.info?.peerCertificates.length, 0);
    assert.equal(s.info?.clientCertificateRequested, true);
  });
  test("required and sent", () => {
    const { s } = mtls("require", true);
    assert.equal(s.info?.peerVerified, true);
  });
  test("a client certificate from an untrusted CA is unknown_ca", () => {
    const { s, c } = mtls("require", true, pki.rsa.root.certPem);
    assert.equal(s.error?.alertName, "unknown_ca");
    assert.equal(c.error?.sentBy, "peer");
  });
  test("a server certificate used as a client certificate is refused (EKU)", () => {
    const c = new ClientConnection(
      new ClientConfig({
        maxVersion: "TLSv1.2",
        ca: pki.p256.root.certPem,
        cert: pki.p256.chainPem,
        key: pki.p256.leaf.keyPem,
      }),
      { serverName: "localhost" },
    );
    const s = new ServerConnection(
      new ServerConfig({
        cert: pki.p256.chainPem,
        key: pki.p256.leaf.keyPem,
        clientAuth: "require",
        ca: pki.p256.root.certPem,
      }),
    );
    pump(c, s);
    assert.equal(s.error?.code, "INVALID_PURPOSE");
  });
});

describe("certificates of every key type, both suite families", () => {
  for (const kind of ["rsa", "p256", "p384", "ed25519"] as const) {
    test(kind, () => {
      const chain = pki[kind];
      const r = run({ ca: chain.root.certPem }, "localhost", chain);
      assert.equal(r.error, null, r.error?.message);
      const suite = r.info?.cipherSuite;
      assert.ok(suite && "auth" in suite);
      assert.equal(suite.auth, kind === "rsa" ? "RSA" : "ECDSA");
    });
  }
});

describe("RFC 8422 §5.1: the client's curves bound the server's ECDSA certificate", () => {
  test("a client without P-256 gets the RSA certificate; with only a P-256 certificate, handshake_failure", () => {
    const both = new ServerConfig({
      certificates: [
        { cert: pki.p256.chainPem, key: pki.p256.leaf.keyPem },
        { cert: pki.rsa.chainPem, key: pki.rsa.leaf.keyPem },
      ],
    });
    const roots = [pki.p256.root.certPem, pki.rsa.root.certPem];
    const c1 = new ClientConnection(
      new ClientConfig({ ca: roots, maxVersion: "TLSv1.2", groups: ["X25519"] }),
      { serverName: "localhost" },
    );
    const s1 = new ServerConnection(both);
    pump(c1, s1);
    assert.equal(c1.error, null, c1.error?.message);
    assert.equal(c1.info?.cipherSuite.name, "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256");

    const c2 = new ClientConnection(
      new ClientConfig({ ca: roots, maxVersion: "TLSv1.2", groups: ["X25519", "P-384"] }),
      { serverName: "localhost" },
    );
    const s2 = new ServerConnection(new ServerConfig({ cert: pki.p256.chainPem, key: pki.p256.leaf.keyPem }));
    pump(c2, s2);
    assert.equal(s2.error?.alertName, "handshake_failure");
  });
});
