import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { test } from "node:test";
import { nodeCrypto } from "../../src/crypto/node.js";
import { TLSError } from "../../src/errors.js";
import { ChainVerifier, checkHostname, parseCertificate, type VerifyContext } from "../../src/x509/index.js";
import { type Chain, type LeafOptions, makeChain, standardPki } from "../fixtures/pki.js";

function verifierFor(...roots: Chain[]): ChainVerifier {
  return new ChainVerifier({ roots: roots.map((r) => r.root.certPem), crypto: nodeCrypto });
}
const sent = (c: Chain): Uint8Array[] => [c.leaf.certDer, ...c.intermediates.map((i) => i.certDer)];
const server: VerifyContext = { purpose: "serverAuth", hostname: "localhost" };

function expectFail(f: () => unknown, alert: string, code: string): TLSError {
  let err: unknown;
  assert.throws(f, (e: unknown) => {
    err = e;
    return e instanceof TLSError;
  });
  const e = err as TLSError;
  assert.equal(e.code, code, e.message);
  assert.equal(e.alertName, alert, e.message);
  assert.equal(e.sentBy, "local");
  return e;
}

void test("good chains of every key kind verify, with hostnames and IPs", async () => {
  const pki = await standardPki();
  const pss = await makeChain({ key: "rsa-pss" });
  const mixed = await makeChain({ key: "ed25519", caKey: "p256" });
  for (const c of [pki.rsa, pki.p256, pki.p384, pki.ed25519, pss, mixed]) {
    const v = verifierFor(c, pki.untrusted);
    for (const hostname of ["localhost", "typetls.test", "www.typetls.test", "LOCALHOST.", "127.0.0.1"]) {
      const r = v.verify(sent(c), { purpose: "serverAuth", hostname });
      assert.equal(r.path.length, 3);
      assert.deepEqual(r.path[0]!.der, c.leaf.certDer);
      assert.deepEqual(r.path[2]!.der, c.root.certDer);
      assert.deepEqual(r.leafPublicKey.spki, r.leaf.spki);
    }
  }
  const rsaKey = verifierFor(pki.rsa).verify(sent(pki.rsa), server).leafPublicKey;
  assert.equal(rsaKey.type, "rsa");
  assert.equal(rsaKey.bits, 2048);
  // client certificates
  for (const c of [pki.client, pki.clientRsa]) {
    assert.equal(
      verifierFor(c)
        .verify(sent(c), { purpose: "clientAuth" })
        .leaf.subject.get("CN")[0]
        ?.startsWith("typetls client"),
      true,
    );
    expectFail(
      () => verifierFor(c).verify(sent(c), { purpose: "serverAuth" }),
      "unsupported_certificate",
      "INVALID_PURPOSE",
    );
  }
  expectFail(
    () => verifierFor(pki.p256).verify(sent(pki.p256), { purpose: "clientAuth" }),
    "unsupported_certificate",
    "INVALID_PURPOSE",
  );
});

void test("out-of-order chains and extra certificates are handled", async () => {
  const pki = await standardPki();
  const v = verifierFor(pki.p256);
  const extra = [pki.rsa.intermediate.certDer, pki.untrusted.root.certDer];
  const r = v.verify(
    [pki.p256.leaf.certDer, ...extra, pki.p256.root.certDer, pki.p256.intermediate.certDer],
    server,
  );
  assert.equal(r.path.length, 3);
  // a two-intermediate chain sent in reverse order
  const deep = await makeChain({ intermediatePathLen0PlusExtraCA: true });
  const reversed = [deep.leaf.certDer, deep.intermediates[1]!.certDer, deep.intermediates[0]!.certDer];
  expectFail(() => verifierFor(deep).verify(reversed, server), "bad_certificate", "PATH_LENGTH_EXCEEDED");
  // roots given as DER and as one multi-certificate PEM string
  const v2 = new ChainVerifier({
    roots: [pki.rsa.root.certDer, pki.p256.root.certPem + pki.p384.root.certPem],
    crypto: nodeCrypto,
  });
  assert.equal(v2.rootCount, 3);
  v2.verify(sent(pki.p384), server);
  v2.verify(sent(pki.rsa), server);
  // maxDepth
  const shallow = new ChainVerifier({ roots: [pki.p256.root.certPem], crypto: nodeCrypto, maxDepth: 2 });
  expectFail(() => shallow.verify(sent(pki.p256), server), "bad_certificate", "CERT_CHAIN_TOO_LONG");
});

void test("unknown CA cases", async () => {
  const pki = await standardPki();
  const v = verifierFor(pki.p256, pki.rsa);
  expectFail(() => v.verify(sent(pki.untrusted), server), "unknown_ca", "UNABLE_TO_GET_ISSUER_CERT_LOCALLY");
  expectFail(
    () => v.verify([...sent(pki.untrusted), pki.untrusted.root.certDer], server),
    "unknown_ca",
    "SELF_SIGNED_CERT_IN_CHAIN",
  );
  expectFail(
    () => v.verify([pki.p256.leaf.certDer], server),
    "unknown_ca",
    "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  );
  expectFail(
    () => v.verify([pki.untrusted.root.certDer], server),
    "unknown_ca",
    "DEPTH_ZERO_SELF_SIGNED_CERT",
  );
  // a trusted self-signed CA presented as the leaf is found, but has no digitalSignature usage
  expectFail(
    () => v.verify([pki.p256.root.certDer], { purpose: "serverAuth" }),
    "unsupported_certificate",
    "INVALID_PURPOSE",
  );
});

void test("malformed input", async () => {
  const pki = await standardPki();
  const v = verifierFor(pki.p256);
  expectFail(() => v.verify([], server), "bad_certificate", "NO_CERTIFICATE");
  expectFail(
    () => v.verify([new Uint8Array([0x30, 0x03, 1, 2, 3])], server),
    "bad_certificate",
    "CERT_PARSE_ERROR",
  );
  const truncated = pki.p256.intermediate.certDer.subarray(0, 100);
  expectFail(
    () => v.verify([pki.p256.leaf.certDer, truncated], server),
    "bad_certificate",
    "CERT_PARSE_ERROR",
  );
});

void test("validity: expired leaf, not yet valid, ctx.now", async () => {
  const pki = await standardPki();
  expectFail(
    () => verifierFor(pki.expired).verify(sent(pki.expired), server),
    "certificate_expired",
    "CERT_HAS_EXPIRED",
  );
  const v = verifierFor(pki.p256);
  const leaf = parseCertificate(pki.p256.leaf.certDer);
  expectFail(
    () => v.verify(sent(pki.p256), { ...server, now: new Date(leaf.notBefore.getTime() - 1000) }),
    "certificate_expired",
    "CERT_NOT_YET_VALID",
  );
  expectFail(
    () => v.verify(sent(pki.p256), { ...server, now: new Date(leaf.notAfter.getTime() + 1000) }),
    "certificate_expired",
    "CERT_HAS_EXPIRED",
  );
  v.verify(sent(pki.p256), { ...server, now: new Date(leaf.notAfter.getTime() - 1000) });
});

const DEFECTS: [string, LeafOptions, string, string][] = [
  ["intermediate not a CA", { intermediateNotCA: true }, "bad_certificate", "INVALID_CA"],
  ["intermediate without keyCertSign", { intermediateNoKeyCertSign: true }, "bad_certificate", "INVALID_CA"],
  ["intermediate expired", { intermediateExpired: true }, "certificate_expired", "CERT_HAS_EXPIRED"],
  [
    "pathLen 0 exceeded",
    { intermediatePathLen0PlusExtraCA: true },
    "bad_certificate",
    "PATH_LENGTH_EXCEEDED",
  ],
  ["bad leaf signature", { badSignature: true }, "bad_certificate", "CERT_SIGNATURE_FAILURE"],
  [
    "unknown critical extension",
    { unknownCriticalExtension: true },
    "unsupported_certificate",
    "UNHANDLED_CRITICAL_EXTENSION",
  ],
  ["clientAuth-only leaf", { purpose: "clientAuth" }, "unsupported_certificate", "INVALID_PURPOSE"],
];

void test("every LeafOptions defect gives its code", async () => {
  const chains = await Promise.all(DEFECTS.map(([, o]) => makeChain(o)));
  DEFECTS.forEach(([what, , alert, code], i) => {
    const c = chains[i]!;
    const e = expectFail(() => verifierFor(c).verify(sent(c), server), alert, code);
    assert.ok(e.message.length > 20, what);
  });
  const rsaBad = await makeChain({ key: "rsa", badSignature: true });
  expectFail(
    () => verifierFor(rsaBad).verify(sent(rsaBad), server),
    "bad_certificate",
    "CERT_SIGNATURE_FAILURE",
  );
});

// DER builders for nameConstraints
function tlv(tag: number, ...parts: Uint8Array[]): Uint8Array {
  const len = parts.reduce((n, p) => n + p.length, 0);
  const head = len < 128 ? [tag, len] : [tag, 0x81, len];
  const out = new Uint8Array(head.length + len);
  out.set(head);
  let o = head.length;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
const dnsSubtree = (d: string): Uint8Array => tlv(0x30, tlv(0x82, new TextEncoder().encode(d)));
const ipSubtree = (addr: number[], mask: number[]): Uint8Array =>
  tlv(0x30, tlv(0x87, Uint8Array.from([...addr, ...mask])));
function nameConstraints(
  permitted: Uint8Array[],
  excluded: Uint8Array[],
): NonNullable<LeafOptions["intermediateExtensions"]> {
  const parts: Uint8Array[] = [];
  if (permitted.length) parts.push(tlv(0xa0, ...permitted));
  if (excluded.length) parts.push(tlv(0xa1, ...excluded));
  return [{ oid: "2.5.29.30", critical: true, value: tlv(0x30, ...parts) }];
}

void test("name constraints: DNS and IP, permitted and excluded", async () => {
  const cases: [Uint8Array[], Uint8Array[], string | undefined][] = [
    [
      [dnsSubtree("typetls.test"), dnsSubtree("localhost"), ipSubtree([127, 0, 0, 0], [255, 0, 0, 0])],
      [],
      undefined,
    ],
    [
      [dnsSubtree("typetls.test"), ipSubtree([127, 0, 0, 0], [255, 0, 0, 0])],
      [],
      "PERMITTED_SUBTREE_VIOLATION",
    ],
    [
      [dnsSubtree("typetls.test"), dnsSubtree("localhost"), ipSubtree([10, 0, 0, 0], [255, 0, 0, 0])],
      [],
      "PERMITTED_SUBTREE_VIOLATION",
    ],
    [[], [dnsSubtree("localhost")], "EXCLUDED_VIOLATION"],
    [[], [dnsSubtree("evil.typetls.test")], "EXCLUDED_VIOLATION"], // the wildcard SAN could name it
    [[], [dnsSubtree("other.test"), ipSubtree([10, 0, 0, 0], [255, 0, 0, 0])], undefined],
    [[], [ipSubtree([127, 0, 0, 1], [255, 255, 255, 255])], "EXCLUDED_VIOLATION"],
  ];
  const chains = await Promise.all(
    cases.map(([p, e]) => makeChain({ intermediateExtensions: nameConstraints(p, e) })),
  );
  cases.forEach(([, , code], i) => {
    const c = chains[i]!;
    if (code === undefined) verifierFor(c).verify(sent(c), server);
    else expectFail(() => verifierFor(c).verify(sent(c), server), "bad_certificate", code);
  });
});

void test("hostname mismatch error is Node-compatible", async () => {
  const pki = await standardPki();
  const v = verifierFor(pki.p256);
  const e = expectFail(
    () => v.verify(sent(pki.p256), { purpose: "serverAuth", hostname: "evil.test" }),
    "bad_certificate",
    "ERR_TLS_CERT_ALTNAME_INVALID",
  );
  assert.match(
    e.message,
    /^Hostname\/IP does not match certificate's altnames: Host: evil\.test\. is not in the cert's altnames: DNS:localhost, DNS:typetls\.test, DNS:\*\.typetls\.test, IP Address:127\.0\.0\.1/,
  );
  const ip = expectFail(
    () => v.verify(sent(pki.p256), { purpose: "serverAuth", hostname: "10.0.0.1" }),
    "bad_certificate",
    "ERR_TLS_CERT_ALTNAME_INVALID",
  );
  assert.match(ip.message, /IP: 10\.0\.0\.1 is not in the cert's list: 127\.0\.0\.1/);
});

void test("hostname matching table", async () => {
  const c = await makeChain({
    hosts: [
      "example.com",
      "*.example.org",
      "f*.example.net",
      "*.com",
      "a.*.example.io",
      "*.*.example.biz",
      "xn--bcher-kva.example",
      "127.0.0.2",
    ],
    ips: ["192.0.2.1", "2001:db8::5"],
    subjectCN: "cn-only.example",
  });
  const cert = parseCertificate(c.leaf.certDer);
  const table: [string, boolean][] = [
    ["example.com", true],
    ["EXAMPLE.com", true],
    ["example.com.", true],
    ["example.com..", false],
    [".example.com", false],
    ["", false],
    [".", false],
    ["www.example.com", false],
    ["foo.example.org", true],
    ["FOO.Example.Org.", true],
    ["example.org", false],
    ["a.b.example.org", false],
    ["foo.example.net", false], // partial wildcard
    ["f.example.net", false],
    ["example.com.evil", false],
    ["anything.com", false], // *.com needs two labels after the wildcard
    ["a.x.example.io", false],
    ["a.b.example.biz", false],
    ["xn--bcher-kva.example", true],
    ["cn-only.example", false], // no CN fallback
    ["192.0.2.1", true],
    ["192.0.2.2", false],
    ["127.0.0.2", false], // a dNSName never matches an IP reference
    ["2001:db8::5", true],
    ["2001:DB8:0:0:0:0:0:5", true],
    ["[2001:db8::5]", true],
    ["2001:db8::6", false],
    ["::ffff:192.0.2.1", false],
    ["192.000.002.001", false],
    ["foo.*.example.org", false],
    ["*.example.org", false],
  ];
  for (const [host, want] of table) assert.equal(checkHostname(cert, host), want, host);
  const noSan = await makeChain({ hosts: [], ips: [], subjectCN: "nosan.example" });
  assert.equal(checkHostname(parseCertificate(noSan.leaf.certDer), "nosan.example"), false);
});

function opensslAccepts(c: Chain): boolean {
  const r = spawnSync(
    "openssl",
    [
      "verify",
      "-x509_strict",
      "-purpose",
      "sslserver",
      "-CAfile",
      c.files.root,
      "-untrusted",
      c.files.intermediate,
      c.files.leaf,
    ],
    { encoding: "utf8" },
  );
  return r.status === 0;
}

void test("differential: same accept/reject as openssl verify -x509_strict -purpose sslserver", async () => {
  const pki = await standardPki();
  const defects = await Promise.all(DEFECTS.map(([, o]) => makeChain(o)));
  const extra = await Promise.all([
    makeChain({ key: "rsa-pss" }),
    makeChain({ key: "p384", caKey: "rsa" }),
    makeChain({ intermediateExtensions: nameConstraints([dnsSubtree("typetls.test")], []) }),
    makeChain({ intermediateExtensions: nameConstraints([], [dnsSubtree("other.test")]) }),
    makeChain({
      intermediateExtensions: [{ oid: "1.3.6.1.4.1.55555.1.2", critical: true, value: Uint8Array.of(5, 0) }],
    }),
    makeChain({ purpose: "both" }),
  ]);
  const all = [pki.rsa, pki.p256, pki.p384, pki.ed25519, pki.expired, ...defects, ...extra];
  let accepted = 0;
  for (const c of all) {
    const ossl = opensslAccepts(c);
    let ours = true;
    try {
      verifierFor(c).verify(sent(c), { purpose: "serverAuth" });
    } catch (e) {
      assert.ok(e instanceof TLSError);
      ours = false;
    }
    assert.equal(ours, ossl, c.files.dir);
    if (ours) accepted++;
  }
  assert.equal(accepted, 8); // the permitted-only-typetls.test chain fails both (SAN localhost)
});
