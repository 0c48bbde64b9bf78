import assert from "node:assert/strict";
import * as crypto from "node:crypto";
import { test } from "node:test";
import { SignatureScheme } from "../../src/constants.js";
import { derToPem, OID, parseCertificate, pemToDer } from "../../src/x509/index.js";
import { defaultRoots } from "../../src/x509/roots.js";
import { makeChain, type StandardPki, standardPki } from "../fixtures/pki.js";

/** node prints names one attribute per line in encoding order ("C=..\nO=..\nCN=.."). */
function nodeName(s: string): string {
  return s.split("\n").join(", ");
}

void test("parseCertificate agrees with node X509Certificate on every standardPki cert", async () => {
  const pki = await standardPki();
  let n = 0;
  for (const name of Object.keys(pki) as (keyof StandardPki)[]) {
    const c = pki[name];
    for (const issued of [c.root, ...c.intermediates, c.leaf]) {
      const ours = parseCertificate(issued.certDer);
      const node = new crypto.X509Certificate(issued.certPem);
      assert.equal(ours.subject.toString(), nodeName(node.subject), name);
      assert.equal(ours.issuer.toString(), nodeName(node.issuer), name);
      assert.equal(ours.serialNumber, node.serialNumber, name);
      assert.equal(ours.notBefore.getTime(), new Date(node.validFrom).getTime(), name);
      assert.equal(ours.notAfter.getTime(), new Date(node.validTo).getTime(), name);
      assert.equal(ours.version, 3);
      assert.equal(ours.basicConstraints?.ca ?? false, node.ca, name);
      assert.deepEqual(ours.extKeyUsage, node.keyUsage, name); // node's keyUsage is the EKU list
      const altNames = [
        ...(ours.subjectAltName?.dns ?? []).map((d) => `DNS:${d}`),
        ...(ours.subjectAltName?.ip ?? []).map((i) => `IP Address:${i}`),
      ].join(", ");
      assert.equal(altNames === "" ? undefined : altNames, node.subjectAltName, name);
      const spki = node.publicKey.export({ type: "spki", format: "der" });
      assert.deepEqual(Buffer.from(ours.spki), spki, name);
      n++;
    }
    const leaf = parseCertificate(c.leaf.certDer);
    const int = parseCertificate(c.intermediate.certDer);
    const root = parseCertificate(c.root.certDer);
    assert.deepEqual(leaf.authorityKeyId?.keyId, int.subjectKeyId);
    assert.deepEqual(int.authorityKeyId?.keyId, root.subjectKeyId);
    assert.equal(int.basicConstraints?.pathLen, 0);
    assert.equal(root.basicConstraints?.pathLen, undefined);
    assert.deepEqual([...(int.keyUsage ?? [])].sort(), ["cRLSign", "keyCertSign"]);
    const wantKu =
      name === "rsa" || name === "clientRsa" ? ["digitalSignature", "keyEncipherment"] : ["digitalSignature"];
    assert.deepEqual([...(leaf.keyUsage ?? [])].sort(), wantKu, name);
    assert.ok(root.selfIssued && !leaf.selfIssued);
    assert.equal(leaf.extensions.find((e) => e.oid === OID.basicConstraints)?.critical, true);
  }
  assert.equal(n, 24);
});

void test("signature algorithm mapping and tbs bytes verify with node", async () => {
  const pki = await standardPki();
  const pss = await makeChain({ key: "rsa-pss" });
  const cases: [Uint8Array, SignatureScheme, string][] = [
    [pki.rsa.leaf.certDer, SignatureScheme.rsa_pkcs1_sha256, OID.sha256WithRSAEncryption],
    [pki.p256.leaf.certDer, SignatureScheme.ecdsa_secp256r1_sha256, OID.ecdsaWithSHA256],
    [pki.p384.leaf.certDer, SignatureScheme.ecdsa_secp384r1_sha384, OID.ecdsaWithSHA384],
    [pki.ed25519.leaf.certDer, SignatureScheme.ed25519, OID.ed25519],
    [pss.leaf.certDer, SignatureScheme.rsa_pss_rsae_sha256, OID.rsassaPss],
  ];
  for (const [der, scheme, oid] of cases) {
    const c = parseCertificate(der);
    assert.equal(c.signatureAlgorithm.oid, oid);
    assert.equal(c.signatureAlgorithm.scheme, scheme);
  }
  // the tbs slice + signature verify with the issuer key under node
  const leaf = parseCertificate(pki.p256.leaf.certDer);
  const issuerKey = new crypto.X509Certificate(pki.p256.intermediate.certPem).publicKey;
  assert.ok(crypto.verify("sha256", leaf.tbs, issuerKey, leaf.signature));
  const bad = new Uint8Array(leaf.tbs);
  bad[bad.length - 1]! ^= 1;
  assert.ok(!crypto.verify("sha256", bad, issuerKey, leaf.signature));
});

void test("pemToDer / derToPem round trip; labels filtered; garbage rejected", async () => {
  const pki = await standardPki();
  const ders = pemToDer(`junk\n${pki.p256.chainPem}\n${pki.p256.leaf.keyPem}`);
  assert.equal(ders.length, 2);
  assert.deepEqual(ders[0], pki.p256.leaf.certDer);
  assert.equal(pemToDer(pki.p256.leaf.keyPem, "PRIVATE KEY").length, 1);
  assert.deepEqual(pemToDer(derToPem(ders[1]!))[0], pki.p256.intermediate.certDer);
  assert.throws(() => pemToDer("-----BEGIN CERTIFICATE-----\n@@@@\n-----END CERTIFICATE-----"), /base64/);
});

void test("every node:tls root certificate parses", () => {
  const roots = defaultRoots();
  assert.ok(roots.length > 100);
  for (const pem of roots) {
    const [der] = pemToDer(pem);
    const c = parseCertificate(der!);
    const node = new crypto.X509Certificate(pem);
    assert.equal(c.serialNumber, node.serialNumber);
    assert.equal(c.notAfter.getTime(), new Date(node.validTo).getTime());
  }
});

void test("IPv6 SAN and unusual names parse", async () => {
  const c = await makeChain({
    hosts: ["Example.COM"],
    ips: ["::1", "2001:db8::5", "10.0.0.1"],
    subjectCN: "a, b + c",
  });
  const leaf = parseCertificate(c.leaf.certDer);
  assert.deepEqual(leaf.subjectAltName?.ip, ["::1", "2001:db8::5", "10.0.0.1"]);
  assert.deepEqual(leaf.subjectAltName?.dns, ["Example.COM"]);
  assert.deepEqual(leaf.subject.get("CN"), ["a, b + c"]);
  assert.equal(
    new crypto.X509Certificate(c.leaf.certPem).subjectAltName,
    "DNS:Example.COM, IP Address:0:0:0:0:0:0:0:1, IP Address:2001:DB8:0:0:0:0:0:5, IP Address:10.0.0.1",
  );
});
