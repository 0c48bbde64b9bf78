import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { killAll, runCli } from "./peers.js";

after(killAll);

const ESC = `${String.fromCharCode(27)}[`;

/** [step number, arrow, message] for every numbered line of the demo output. */
function stepsOf(out: string): string[] {
  return [...out.matchAll(/^\s*(\d+)\s+client (→|←) server\s+(\S+(?: \(\w+\) \w+)?)/gm)].map(
    (m) => `${m[1]} ${m[2]} ${m[3]}`,
  );
}

const WIRE_ORDER = [
  "1 → ClientHello",
  "2 ← ServerHello",
  "3 ← Certificate",
  "5 ← ServerKeyExchange",
  "4 ← CertificateRequest",
  "6 ← ServerHelloDone",
  "7 → Certificate",
  "8 → ClientKeyExchange",
  "9 → CertificateVerify",
  "10 → ChangeCipherSpec",
  "11 → Finished",
  "12 ← ChangeCipherSpec",
  "13 ← Finished",
  "14 → application",
  "14 ← application",
  "15 → Alert (warning) close_notify",
  "15 ← Alert (warning) close_notify",
];

describe("typetls demo", { timeout: 60_000 }, () => {
  it("prints steps 1..15 in wire order with the negotiated parameters and exits 0", async () => {
    const r = await runCli(["demo"]);
    assert.equal(r.code, 0, r.proc.transcript());
    assert.deepEqual(stepsOf(r.stdout), WIRE_ORDER, r.stdout);
    assert.match(r.stdout, /ServerKeyExchange \(5\) before CertificateRequest \(4\)/);
    assert.match(r.stdout, /suite: TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256/);
    assert.match(r.stdout, /^\s+group: X25519$/m);
    assert.match(r.stdout, /signature: ecdsa_secp256r1_sha256/);
    assert.match(r.stdout, /chain: CN=TypeTLS demo server/);
    assert.match(r.stdout, /chain: CN=TypeTLS demo client/);
    assert.match(r.stdout, /sni: localhost/);
    assert.match(r.stdout, /alpn: typetls-demo/);
    assert.match(r.stdout, /received: "hello from the TypeTLS demo client\\n"/);
    assert.match(r.stdout, /received: "hello from the TypeTLS demo server\\n"/);
    assert.match(r.stdout, /client certificate \(the server's view\): CN=TypeTLS demo client.*verified yes/);
    // A pipe gets no colour.
    assert.ok(!r.stdout.includes(ESC), "no ANSI escapes in a pipe");
    assert.equal(r.stderr, "");
  });

  it("uses colour only when forced, and NO_COLOR wins", async () => {
    const forced = await runCli(["demo"], { env: { FORCE_COLOR: "1", NO_COLOR: "" } });
    assert.equal(forced.code, 0, forced.proc.transcript());
    assert.ok(forced.stdout.includes(ESC), "FORCE_COLOR gives ANSI escapes");
    const off = await runCli(["demo"], { env: { FORCE_COLOR: "1", NO_COLOR: "1" } });
    assert.equal(off.code, 0, off.proc.transcript());
    assert.ok(!off.stdout.includes(ESC), "NO_COLOR wins");
  });

  it("shows the suite and group the client asks for", async () => {
    const r = await runCli(["demo", "--ciphers", "ECDHE-ECDSA-CHACHA20-POLY1305", "--groups", "P-384"]);
    assert.equal(r.code, 0, r.proc.transcript());
    assert.match(r.stdout, /suite: TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256/);
    assert.match(r.stdout, /^\s+group: P-384$/m);
    assert.match(r.stdout, /5 header \+ 35 ciphertext \+ 16 tag \(chacha20-poly1305\)/);
  });

  it("without client authentication, steps 4, 7 and 9 are absent", async () => {
    const r = await runCli(["demo", "--no-client-auth"]);
    assert.equal(r.code, 0, r.proc.transcript());
    const numbers = stepsOf(r.stdout).map((s) => s.split(" ")[0]);
    assert.deepEqual(numbers, ["1", "2", "3", "5", "6", "8", "10", "11", "12", "13", "14", "14", "15", "15"]);
  });

  it("reports a bad option with exit 2", async () => {
    const r = await runCli(["demo", "--ciphers", "NOT-A-SUITE"]);
    assert.equal(r.code, 2, r.proc.transcript());
    assert.match(r.stderr, /typetls: unknown or unsupported cipher suite NOT-A-SUITE/);
  });
});
