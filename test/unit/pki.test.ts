import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as crypto from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { type Chain, type LeafOptions, makeChain, type StandardPki, standardPki } from "../fixtures/pki.js";

function opensslVerify(c: Chain, purpose: "sslserver" | "sslclient"): { ok: boolean; out: string } {
  const r = spawnSync(
    "openssl",
    [
      "verify",
      "-x509_strict",
      "-purpose",
      purpose,
      "-CAfile",
      c.files.root,
      "-untrusted",
      c.files.intermediate,
      c.files.leaf,
    ],
    { encoding: "utf8" },
  );
  return { ok: r.status === 0, out: `${r.stdout}${r.stderr}` };
}

const expectations: Record<keyof StandardPki, { purpose: "sslserver" | "sslclient"; ok: boolean }> = {
  rsa: { purpose: "sslserver", ok: true },
  p256: { purpose: "sslserver", ok: true },
  p384: { purpose: "sslserver", ok: true },
  ed25519: { purpose: "sslserver", ok: true },
  client: { purpose: "sslclient", ok: true },
  clientRsa: { purpose: "sslclient", ok: true },
  expired: { purpose: "sslserver", ok: false },
  untrusted: { purpose: "sslserver", ok: true }, // valid against its own root
};

void test("standardPki: every chain is accepted (or rejected) by openssl verify -x509_strict", async () => {
  const pki = await standardPki();
  for (const name of Object.keys(expectations) as (keyof StandardPki)[]) {
    const e = expectations[name];
    const r = opensslVerify(pki[name], e.purpose);
    assert.equal(r.ok, e.ok, `${name}: ${r.out}`);
    if (!e.ok) assert.match(r.out, /expired/, name);
  }
});

void test("standardPki: node X509Certificate parses every cert; links verify; SANs and EKU", async () => {
  const pki = await standardPki();
  for (const name of Object.keys(expectations) as (keyof StandardPki)[]) {
    const c = pki[name];
    const root = new crypto.X509Certificate(c.root.certPem);
    const int = new crypto.X509Certificate(c.intermediate.certPem);
    const leaf = new crypto.X509Certificate(c.leaf.certPem);
    assert.deepEqual(new Uint8Array(leaf.raw), c.leaf.certDer, name);
    assert.ok(root.verify(root.publicKey), `${name} root self-signature`);
    assert.ok(int.verify(root.publicKey), `${name} intermediate signature`);
    assert.ok(leaf.verify(int.publicKey), `${name} leaf signature`);
    assert.ok(int.checkIssued(root) && leaf.checkIssued(int), name);
    assert.equal(root.ca, true);
    assert.equal(int.ca, true);
    assert.equal(leaf.ca, false);
    assert.equal(leaf.serialNumber.length, 32, `${name}: 16-byte serial`);
    const isClient = name === "client" || name === "clientRsa";
    assert.deepEqual(leaf.keyUsage, [isClient ? "1.3.6.1.5.5.7.3.2" : "1.3.6.1.5.5.7.3.1"], name);
    if (!isClient) {
      assert.equal(
        leaf.subjectAltName,
        "DNS:localhost, DNS:typetls.test, DNS:*.typetls.test, IP Address:127.0.0.1",
      );
    }
    crypto.createPrivateKey(c.leaf.keyPem);
    assert.equal(c.chainPem.match(/^-----END CERTIFICATE-----$/gm)?.length, 2, name);
    assert.ok(c.chainPem.startsWith(c.leaf.certPem) && c.chainPem.endsWith(c.intermediate.certPem));
  }
  assert.match(new crypto.X509Certificate(pki.client.leaf.certPem).subject, /CN=typetls client/);
  assert.equal(
    new crypto.X509Certificate(pki.rsa.leaf.certPem).publicKey.asymmetricKeyDetails?.modulusLength,
    2048,
  );
  assert.equal(new crypto.X509Certificate(pki.ed25519.leaf.certPem).publicKey.asymmetricKeyType, "ed25519");
  assert.equal(
    new crypto.X509Certificate(pki.p384.leaf.certPem).publicKey.asymmetricKeyDetails?.namedCurve,
    "secp384r1",
  );
});

void test("standardPki: the untrusted chain does not verify against another chain's root", async () => {
  const pki = await standardPki();
  const mixed: Chain = { ...pki.untrusted, files: { ...pki.untrusted.files, root: pki.p256.files.root } };
  assert.equal(opensslVerify(mixed, "sslserver").ok, false);
  const memo = await standardPki();
  assert.equal(memo, pki, "memoised");
});

void test("makeChain: rsa-pss and mixed CA keys are accepted by openssl; defects are rejected", async () => {
  const good = await Promise.all([
    makeChain({ key: "rsa-pss" }),
    makeChain({ key: "ed25519", caKey: "p256" }),
  ]);
  for (const c of good) {
    const r = opensslVerify(c, "sslserver");
    assert.ok(r.ok, r.out);
  }
  const defects: [LeafOptions, RegExp][] = [
    [{ intermediateNotCA: true }, /invalid CA certificate/],
    [{ intermediateNoKeyCertSign: true }, /key usage does not include certificate signing/],
    [{ intermediateExpired: true }, /error 10 at 1 depth lookup: certificate has expired/],
    [{ intermediatePathLen0PlusExtraCA: true }, /path length constraint exceeded/],
    [{ badSignature: true }, /error 7 at 0 depth lookup: certificate signature failure/],
    [{ unknownCriticalExtension: true }, /unhandled critical extension/],
    [{ purpose: "clientAuth" }, /error 26 at 0 depth lookup: unsuitable certificate purpose/],
  ];
  const bad = await Promise.all(defects.map(([o]) => makeChain(o)));
  bad.forEach((c, i) => {
    const r = opensslVerify(c, "sslserver");
    assert.equal(r.ok, false, c.files.dir);
    assert.match(r.out, defects[i]![1], r.out);
  });
  assert.equal(bad[3]!.intermediates.length, 2);
  assert.equal(bad[3]!.chainPem.match(/^-----BEGIN CERTIFICATE-----$/gm)?.length, 3);
});

void test("makeChain({under}): a client leaf under an existing chain's intermediate verifies with that root", async () => {
  const pki = await standardPki();
  const c = await makeChain({
    purpose: "clientAuth",
    hosts: [],
    ips: [],
    subjectCN: "mtls client",
    under: pki.p256,
  });
  assert.equal(c.root.certPem, pki.p256.root.certPem);
  const r = opensslVerify(c, "sslclient");
  assert.ok(r.ok, r.out);
  assert.equal(
    opensslVerify({ ...c, files: { ...c.files, root: pki.rsa.files.root } }, "sslclient").ok,
    false,
  );
});

void test("demo certs: server and client chains verify against DEMO_ROOT_CA and carry the expected names", async () => {
  const demo = await import("../../src/cli/demo-certs.js");
  const dir = mkdtempSync(join(tmpdir(), "typetls-demo-"));
  const w = (n: string, s: string): string => {
    writeFileSync(join(dir, n), s);
    return join(dir, n);
  };
  const root = w("root.pem", demo.DEMO_ROOT_CA);
  for (const [cert, purpose] of [
    [demo.DEMO_SERVER_CERT, "sslserver"],
    [demo.DEMO_CLIENT_CERT, "sslclient"],
  ] as const) {
    const [leaf, ...rest] = cert.split(/(?<=-----END CERTIFICATE-----\n)/);
    const r = spawnSync(
      "openssl",
      [
        "verify",
        "-x509_strict",
        "-purpose",
        purpose,
        "-CAfile",
        root,
        "-untrusted",
        w("int.pem", rest.join("")),
        w("leaf.pem", leaf!),
      ],
      { encoding: "utf8" },
    );
    assert.equal(r.status, 0, r.stdout + r.stderr);
  }
  const leaf = new crypto.X509Certificate(demo.DEMO_SERVER_CERT);
  assert.match(leaf.subject, /CN=TypeTLS demo server/);
  assert.equal(leaf.subjectAltName, "DNS:localhost, IP Address:127.0.0.1");
  assert.equal(new Date(leaf.validFrom).toISOString(), "2026-11-01T00:00:00.000Z");
  assert.ok(leaf.checkPrivateKey(crypto.createPrivateKey(demo.DEMO_SERVER_KEY)));
  const client = new crypto.X509Certificate(demo.DEMO_CLIENT_CERT);
  assert.deepEqual(client.keyUsage, ["1.3.6.1.5.5.7.3.2"]);
  assert.ok(client.checkPrivateKey(crypto.createPrivateKey(demo.DEMO_CLIENT_KEY)));
});
