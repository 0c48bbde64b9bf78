/**
 * Interop with a real post-quantum browser: headless Debian Chromium loads the --www page of our
 * CLI server (`typetls server --www`) and the page reports what was negotiated. Chromium sends
 * key shares for X25519MLKEM768 and X25519, so these tests see our TLS 1.3 server accept the
 * hybrid ML-KEM share, fall back to classic groups, do a HelloRetryRequest, and speak TLS 1.2.
 */
import assert from "node:assert/strict";
import { after, before, describe, it, type TestContext } from "node:test";
import { killAll, requirePeer, startCliServer } from "../cli/peers.js";
import { type StandardPki, standardPki } from "../fixtures/pki.js";
import { CHROMIUM, type DumpDomResult, dumpDom, parseSummaryPage, spkiHash, tail } from "./chromium-peer.js";

const HOST = "www.typetls.test"; // covered by the leaf's *.typetls.test SAN

let pki: StandardPki;
before(async () => {
  pki = await standardPki();
});
after(async () => {
  await killAll();
});

interface Visit {
  r: DumpDomResult;
  /** the --www page's fields, undefined when Chromium got no such page */
  page: Map<string, string> | undefined;
  /** our server's transcript (its --trace lines are on stderr) */
  server: string;
}

/**
 * Starts our server (p256 chain, --www, --trace, plus `serverArgs`), has Chromium load its page
 * trusting `spki` (default: the p256 leaf), then stops the server.
 */
async function load(t: TestContext, serverArgs: readonly string[], spki?: string): Promise<Visit> {
  const { proc: server, port } = await startCliServer([
    "--host",
    "127.0.0.1",
    "--cert",
    pki.p256.files.chain,
    "--key",
    pki.p256.files.leafKey,
    "--www",
    "--trace",
    ...serverArgs,
  ]);
  try {
    const r = await dumpDom({
      url: `https://${HOST}:${port}/`,
      spki: [spki ?? spkiHash(pki.p256.leaf.certPem)],
      mapHosts: [HOST],
      timeoutMs: 30_000,
      verbose: process.env.TYPETLS_CHROMIUM_VERBOSE === "1",
    });
    t.diagnostic(`chromium took ${r.ms} ms (exit ${r.code})`);
    await server.kill(1000); // flushes its stderr
    return { r, page: r.timedOut ? undefined : parseSummaryPage(r.dom), server: server.transcript() };
  } finally {
    await server.kill(1000);
  }
}

function explain(v: Visit): string {
  return (
    `exit ${v.r.code}${v.r.timedOut ? " (timed out, killed)" : ""}\n--- DOM:\n${tail(v.r.dom, 3000)}\n` +
    `--- chromium stderr:\n${tail(v.r.stderr)}\n--- our server:\n${tail(v.server, 12000)}`
  );
}

/** load() that must give the summary page; fails with both sides' output otherwise. */
async function visit(
  t: TestContext,
  serverArgs: readonly string[],
): Promise<Visit & { page: Map<string, string> }> {
  const v = await load(t, serverArgs);
  const page = v.page;
  if (!page) assert.fail(`no summary page from Chromium, ${explain(v)}`);
  // Chromium (BoringSSL) offers the hybrid group, whatever the server then picks.
  assert.match(v.server, /ClientHello .*groups=\S*X25519MLKEM768/, "Chromium did not offer X25519MLKEM768");
  return { ...v, page };
}

const HRR = /client ← server HelloRetryRequest/;

const TLS13_SUITE = /^TLS_(AES_128_GCM_SHA256|AES_256_GCM_SHA384|CHACHA20_POLY1305_SHA256)$/;

describe("headless Chromium against typetls server --www", { timeout: 300_000 }, () => {
  it("negotiates TLS 1.3 with X25519MLKEM768 (post-quantum hybrid)", { timeout: 60_000 }, async (t) => {
    if (!requirePeer(t, CHROMIUM)) return;
    const { page, server } = await visit(t, []);
    assert.equal(page.get("protocol"), "TLSv1.3");
    assert.equal(page.get("group"), "X25519MLKEM768");
    assert.match(page.get("cipher") ?? "", TLS13_SUITE);
    assert.equal(page.get("sni"), HOST);
    assert.equal(page.get("client certificate"), "none");
    if (page.has("hello retry")) assert.equal(page.get("hello retry"), "no");
    assert.doesNotMatch(server, HRR, "Chromium sends an X25519MLKEM768 share: no HelloRetryRequest expected");
  });

  it("uses X25519 when the server allows only X25519", { timeout: 60_000 }, async (t) => {
    if (!requirePeer(t, CHROMIUM)) return;
    const { page, server } = await visit(t, ["--groups", "X25519"]);
    assert.equal(page.get("protocol"), "TLSv1.3");
    assert.equal(page.get("group"), "X25519");
    assert.match(page.get("cipher") ?? "", TLS13_SUITE);
    if (page.has("hello retry")) assert.equal(page.get("hello retry"), "no");
    assert.doesNotMatch(server, HRR, "Chromium sends an X25519 share: no HelloRetryRequest expected");
  });

  it("speaks TLS 1.2 with an ECDHE suite when the server caps at 1.2", { timeout: 60_000 }, async (t) => {
    if (!requirePeer(t, CHROMIUM)) return;
    const { page } = await visit(t, ["--max-version", "1.2"]);
    assert.equal(page.get("protocol"), "TLSv1.2");
    assert.match(page.get("cipher") ?? "", /^TLS_ECDHE_ECDSA_WITH_/);
    assert.equal(page.get("group"), "X25519"); // X25519MLKEM768 is TLS 1.3 only
    assert.equal(page.get("extended master secret"), "yes");
  });

  it("does a HelloRetryRequest for P-384 (Chromium sends no P-384 share)", { timeout: 60_000 }, async (t) => {
    if (!requirePeer(t, CHROMIUM)) return;
    const { page, server } = await visit(t, ["--groups", "P-384"]);
    assert.equal(page.get("protocol"), "TLSv1.3");
    assert.equal(page.get("group"), "P-384");
    assert.match(server, /client ← server HelloRetryRequest .*group=P-384/);
    if (page.has("hello retry")) assert.equal(page.get("hello retry"), "yes");
    else t.diagnostic("the --www page has no 'hello retry' line yet; HRR checked in the server trace");
  });

  it("refuses our certificate when its SPKI is not the trusted one", { timeout: 60_000 }, async (t) => {
    if (!requirePeer(t, CHROMIUM)) return;
    const v = await load(t, [], spkiHash(pki.p384.leaf.certPem));
    assert.equal(v.page, undefined, `Chromium accepted an untrusted certificate\n${explain(v)}`);
    assert.match(v.r.stderr, /ERR_CERT_AUTHORITY_INVALID/, explain(v));
    // Chromium's alert arrives under the TLS 1.3 handshake keys; our server must decrypt and report it.
    assert.match(v.server, /failed: peer sent fatal alert certificate_unknown/, explain(v));
  });
});
