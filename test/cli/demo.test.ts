import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { killAll, runCli } from "./peers.js";

after(killAll);

const ESC = `${String.fromCharCode(27)}[`;

/** [step number or "-", arrow, message] for every message line of the demo output. */
function stepsOf(out: string): string[] {
  return [...out.matchAll(/^\s*(\d+|-)\s+client (→|←) server\s+(\S+(?: \(\w+\) \w+)?)/gm)].map(
    (m) => `${m[1]} ${m[2]} ${m[3]}`,
  );
}

const WIRE_ORDER_12 = [
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
  "- ← NewSessionTicket",
  "12 ← ChangeCipherSpec",
  "13 ← Finished",
  "14 → application",
  "14 ← application",
  "15 → Alert (warning) close_notify",
  "15 ← Alert (warning) close_notify",
];

/** The TLS 1.3 flight with client authentication and middlebox compatibility, numbered against the 15 steps. */
const WIRE_ORDER_13 = [
  "1 → ClientHello",
  "2 ← ServerHello",
  "- ← ChangeCipherSpec",
  "- ← EncryptedExtensions",
  "4 ← CertificateRequest",
  "3 ← Certificate",
  "- ← CertificateVerify",
  "13 ← Finished",
  "- → ChangeCipherSpec",
  "7 → Certificate",
  "9 → CertificateVerify",
  "11 → Finished",
  "14 → application",
  "- ← NewSessionTicket",
  "14 ← application",
  "15 → Alert (warning) close_notify",
  "15 ← Alert (warning) close_notify",
];

/** The abbreviated TLS 1.2 flight (RFC 5246 §7.3) of a resumed session: the server finishes first. */
const RESUMED_12 = [
  "1 → ClientHello",
  "2 ← ServerHello",
  "- ← NewSessionTicket",
  "12 ← ChangeCipherSpec",
  "13 ← Finished",
  "10 → ChangeCipherSpec",
  "11 → Finished",
  "14 → application",
  "14 ← application",
  "15 → Alert (warning) close_notify",
  "15 ← Alert (warning) close_notify",
];

/** TLS 1.3 resumption with a ticket (psk_dhe_ke): no certificates, no CertificateVerify, no CertificateRequest. */
const RESUMED_13 = [
  "1 → ClientHello",
  "2 ← ServerHello",
  "- ← ChangeCipherSpec",
  "- ← EncryptedExtensions",
  "13 ← Finished",
  "- → ChangeCipherSpec",
  "11 → Finished",
  "14 → application",
  "- ← NewSessionTicket",
  "14 ← application",
  "15 → Alert (warning) close_notify",
  "15 ← Alert (warning) close_notify",
];

/** The demo output of --resume, split into the first and the second connection. */
function splitResume(out: string): { first: string; second: string } {
  const i = out.search(/^second connection: /m);
  assert.ok(i > 0, `no second connection in:\n${out}`);
  return { first: out.slice(0, i), second: out.slice(i) };
}

describe("typetls demo", { timeout: 60_000 }, () => {
  it("runs TLS 1.3 by default: every 1.3 message in wire order, against the 15 steps, and exits 0", async () => {
    const r = await runCli(["demo"]);
    assert.equal(r.code, 0, r.proc.transcript());
    assert.deepEqual(stepsOf(r.stdout), WIRE_ORDER_13, r.stdout);
    assert.match(r.stdout, /^TypeTLS demo: one TLS 1\.3 connection/m);
    assert.match(
      r.stdout,
      /^result {2}TLSv1\.3, TLS_AES_128_GCM_SHA256, group X25519MLKEM768, hello retry no$/m,
    );
    // what the 1.3 messages stand for
    assert.match(
      r.stdout,
      /^ 1 .*ClientHello.*\n\s+\+ key_share: the client's half of the key exchange \(in place of step 8\)$/m,
    );
    assert.match(r.stdout, /^ 2 .*ServerHello.*\n\s+\+ key_share: .*in place of 5/m);
    assert.match(r.stdout, /^ - .*EncryptedExtensions\s+new in 1\.3/m);
    assert.match(r.stdout, /^ - .*client ← server\s+CertificateVerify .*signature .*5/m);
    assert.match(r.stdout, /^ - .*ChangeCipherSpec\s+dummy: middlebox compatibility, not steps 10\/12$/m);
    assert.match(r.stdout, /encrypted from here on, under the handshake keys/);
    assert.match(r.stdout, /encrypted under the application keys/);
    // the ClientHello as 1.3 reads it, and the negotiated parameters
    assert.match(r.stdout, /^\s+supported_versions: TLSv1\.3, TLSv1\.2$/m);
    assert.match(r.stdout, /^\s+key_share: X25519MLKEM768, X25519$/m);
    assert.match(r.stdout, /^\s+suite: TLS_AES_128_GCM_SHA256$/m);
    assert.match(r.stdout, /^\s+group: X25519MLKEM768$/m);
    assert.match(r.stdout, /chain: CN=TypeTLS demo server/);
    assert.match(r.stdout, /chain: CN=TypeTLS demo client/);
    assert.match(r.stdout, /alpn: typetls-demo/);
    assert.match(
      r.stdout,
      /record: 57 bytes: 5 header \+ 36 ciphertext \(35 data \+ 1 content type\) \+ 16 tag \(aes-128-gcm\)/,
    );
    assert.match(r.stdout, /received: "hello from the TypeTLS demo client\\n"/);
    assert.match(r.stdout, /received: "hello from the TypeTLS demo server\\n"/);
    // the steps TLS 1.3 dropped, one line each
    for (const [n, name] of [
      [6, "ServerHelloDone"],
      [8, "ClientKeyExchange"],
      [10, "ChangeCipherSpec"],
      [12, "ChangeCipherSpec"],
    ] as const)
      assert.match(r.stdout, new RegExp(`^${String(n).padStart(2)}  ${name}\\s+gone: \\S`, "m"));
    assert.match(r.stdout, /^ 5 {2}ServerKeyExchange\s+split:/m);
    // the summary
    assert.match(r.stdout, /^ {2}protocol: TLSv1\.3$/m);
    assert.match(r.stdout, /^ {2}cipher: TLS_AES_128_GCM_SHA256$/m);
    assert.match(r.stdout, /^ {2}group: X25519MLKEM768$/m);
    assert.match(r.stdout, /^ {2}hello retry: no$/m);
    assert.match(r.stdout, /client certificate \(the server's view\): CN=TypeTLS demo client.*verified yes/);
    // The server's ticket: after the handshake, under the application keys.
    assert.match(
      r.stdout,
      /^ - {2}client ← server {2}NewSessionTicket {4}after the handshake: a ticket to resume this session later\n\s+\+ the saved session parameters of the description's last paragraph \(RFC 8446 §4\.6\.1\),\n\s+encrypted under the server's application keys\n\s+lifetime: 7200s\n\s+ticket: \d+ bytes$/m,
    );
    const appKeys = r.stdout.indexOf("[ encrypted under the application keys");
    assert.ok(
      appKeys > 0 && appKeys < r.stdout.indexOf("NewSessionTicket "),
      "the ticket comes under the application keys",
    );
    assert.doesNotMatch(r.stdout, /does not issue session tickets/);
    assert.match(
      r.stdout,
      /10 handshake messages \(and 2 dummy ChangeCipherSpec\), a NewSessionTicket after the handshake, 2 data records, 2 close_notify alerts/,
    );
    assert.match(r.stdout, /^ {2}resumed: no$/m);
    assert.ok(!r.stdout.includes(ESC), "no ANSI escapes in a pipe");
    assert.equal(r.stderr, "");
  });

  it("--tls12 (or --max-version 1.2) prints steps 1..15 in wire order as before", async () => {
    for (const args of [["--tls12"], ["--max-version", "1.2"]]) {
      const r = await runCli(["demo", ...args]);
      assert.equal(r.code, 0, r.proc.transcript());
      assert.deepEqual(stepsOf(r.stdout), WIRE_ORDER_12, r.stdout);
      assert.match(r.stdout, /^TypeTLS demo: one TLS 1\.2 connection/m);
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
      assert.match(
        r.stdout,
        /client certificate \(the server's view\): CN=TypeTLS demo client.*verified yes/,
      );
      assert.match(r.stdout, /^ {2}protocol: TLSv1\.2$/m);
      assert.match(r.stdout, /^ {2}resumed: no$/m);
      // RFC 5077: the ticket is a handshake message, before the server's ChangeCipherSpec.
      assert.match(
        r.stdout,
        /^ - {2}client ← server {2}NewSessionTicket {4}RFC 5077: the saved session parameters of the description's last paragraph\n\s+\+ sent before the server's ChangeCipherSpec \(12\), so in the clear; the ticket inside is\n\s+sealed with the server's ticket key.*\n\s+lifetime: \d+s\n\s+ticket: \d+ bytes\n12 /m,
      );
      assert.match(
        r.stdout,
        /13 handshake messages and a NewSessionTicket, 2 data records, 2 close_notify alerts/,
      );
      assert.doesNotMatch(r.stdout, /not in the TLS 1\.3 flight|key_share|X25519MLKEM768/);
      assert.ok(!r.stdout.includes(ESC), "no ANSI escapes in a pipe");
      assert.equal(r.stderr, "");
    }
  });

  it("uses colour only when forced, and NO_COLOR wins", async () => {
    const forced = await runCli(["demo"], { env: { FORCE_COLOR: "1", NO_COLOR: "" } });
    assert.equal(forced.code, 0, forced.proc.transcript());
    assert.ok(forced.stdout.includes(ESC), "FORCE_COLOR gives ANSI escapes");
    const off = await runCli(["demo"], { env: { FORCE_COLOR: "1", NO_COLOR: "1" } });
    assert.equal(off.code, 0, off.proc.transcript());
    assert.ok(!off.stdout.includes(ESC), "NO_COLOR wins");
  });

  it("shows the suite and group the client asks for (TLS 1.2)", async () => {
    const r = await runCli([
      "demo",
      "--tls12",
      "--ciphers",
      "ECDHE-ECDSA-CHACHA20-POLY1305",
      "--groups",
      "P-384,P-256",
      "--server-groups",
      "P-384",
    ]);
    assert.equal(r.code, 0, r.proc.transcript());
    assert.match(r.stdout, /suite: TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256/);
    assert.match(r.stdout, /^\s+group: P-384$/m);
    assert.match(r.stdout, /5 header \+ 35 ciphertext \+ 16 tag \(chacha20-poly1305\)/);
    // In TLS 1.2 the client's groups also bound the curve of an ECDSA certificate (RFC 8422 §5.1):
    // without P-256 the server has no certificate to use (the demo's is P-256).
    const p384 = await runCli(["demo", "--tls12", "--groups", "P-384"]);
    assert.equal(p384.code, 1, p384.proc.transcript());
    assert.match(p384.stdout, /demo failed: peer sent fatal alert handshake_failure/);
  });

  it("shows the suite and group the client asks for (TLS 1.3)", async () => {
    const r = await runCli(["demo", "--ciphers", "TLS_CHACHA20_POLY1305_SHA256", "--groups", "P-384"]);
    assert.equal(r.code, 0, r.proc.transcript());
    assert.match(r.stdout, /^\s+suite: TLS_CHACHA20_POLY1305_SHA256$/m);
    assert.match(r.stdout, /^\s+group: P-384$/m);
    assert.match(r.stdout, /^\s+key_share: P-384$/m);
    assert.match(r.stdout, /36 ciphertext \(35 data \+ 1 content type\) \+ 16 tag \(chacha20-poly1305\)/);
  });

  it("--server-groups without a matching key share shows the HelloRetryRequest and the second ClientHello", async () => {
    const r = await runCli(["demo", "--server-groups", "P-384"]);
    assert.equal(r.code, 0, r.proc.transcript());
    assert.deepEqual(stepsOf(r.stdout).slice(0, 5), [
      "1 → ClientHello",
      "- ← HelloRetryRequest",
      "- ← ChangeCipherSpec",
      "1 → ClientHello",
      "2 ← ServerHello",
    ]);
    assert.match(r.stdout, /^\s+key_share: X25519MLKEM768, X25519$/m);
    assert.match(r.stdout, /^\s+key_share: P-384$/m);
    assert.match(r.stdout, /^ {2}hello retry: yes$/m);
    assert.match(r.stdout, /^ {2}group: P-384$/m);
  });

  it("without client authentication, steps 4, 7 and 9 are absent (1.2 and 1.3)", async () => {
    const r = await runCli(["demo", "--tls12", "--no-client-auth"]);
    assert.equal(r.code, 0, r.proc.transcript());
    const numbers = stepsOf(r.stdout).map((s) => s.split(" ")[0]);
    assert.deepEqual(numbers, [
      "1",
      "2",
      "3",
      "5",
      "6",
      "8",
      "10",
      "11",
      "-",
      "12",
      "13",
      "14",
      "14",
      "15",
      "15",
    ]);
    const t = await runCli(["demo", "--no-client-auth"]);
    assert.equal(t.code, 0, t.proc.transcript());
    assert.deepEqual(
      stepsOf(t.stdout).map((s) => s.split(" ")[0]),
      ["1", "2", "-", "-", "3", "-", "13", "-", "11", "14", "-", "14", "15", "15"],
    );
  });

  it("--no-middlebox-compat leaves out the dummy ChangeCipherSpec records", async () => {
    const r = await runCli(["demo", "--no-middlebox-compat"]);
    assert.equal(r.code, 0, r.proc.transcript());
    assert.deepEqual(
      stepsOf(r.stdout),
      WIRE_ORDER_13.filter((s) => !s.endsWith("ChangeCipherSpec")),
    );
    assert.doesNotMatch(r.stdout, /legacy_session_id/);
  });

  it("--tls12 --resume: a second connection resumes with the ticket, in the abbreviated flight", async () => {
    const r = await runCli(["demo", "--tls12", "--resume"]);
    assert.equal(r.code, 0, r.proc.transcript());
    assert.equal(r.stderr, "");
    assert.match(
      r.stdout,
      /^TypeTLS demo: a TLS 1\.2 connection in this process, then a second one that resumes its session$/m,
    );
    const { first, second } = splitResume(r.stdout);
    assert.deepEqual(stepsOf(first), WIRE_ORDER_12, first);
    assert.match(first, /^ {2}resumed: no$/m);
    assert.deepEqual(stepsOf(second), RESUMED_12, second);
    assert.match(
      second,
      /^second connection: resumes the session of the first \(with the RFC 5077 ticket\)$/m,
    );
    assert.match(
      second,
      /"Saving SSL session parameters allows encrypted\s+communication to begin much more quickly\."/,
    );
    // The ClientHello carries the ticket; the ServerHello echoes the session id.
    assert.match(
      second,
      /^ 1 .*ClientHello .*and the session to resume\n\s+\+ session_ticket: the saved session, sealed by the server/m,
    );
    assert.match(second, /^\s+session_ticket: \d+ bytes$/m);
    assert.match(second, /^\s+session_id: [0-9a-f]{64}$/m);
    assert.match(
      second,
      /^ 2 .*ServerHello .*same session id.*\n\s+\+ the session id of the ClientHello echoed: an abbreviated handshake/m,
    );
    assert.match(second, /^\s+session_id: the same as the ClientHello's$/m);
    assert.match(second, /^\s+resumption: ticket$/m);
    assert.match(second, /^ - .*NewSessionTicket\s+RFC 5077: a renewed ticket for the next time$/m);
    assert.match(second, /^13 .*Finished\s+the server's MAC of the handshake, first this time$/m);
    // Which steps are skipped, and why.
    const skipped = second.slice(second.indexOf("skipped when resuming"));
    for (const [n, name] of [
      [3, "Certificate"],
      [4, "CertificateRequest"],
      [5, "ServerKeyExchange"],
      [6, "ServerHelloDone"],
      [7, "Certificate"],
      [8, "ClientKeyExchange"],
      [9, "CertificateVerify"],
    ] as const)
      assert.match(skipped, new RegExp(`^ ${n} {2}${name}\\s+\\S`, "m"));
    assert.match(skipped, /one round trip instead of two/);
    assert.doesNotMatch(
      second,
      /ServerKeyExchange {3}the server|chain: CN=/,
      "no certificates in the resumed flight",
    );
    // The summary of the second connection.
    assert.match(second, /^ {2}resumed: yes \(ticket\)$/m);
    assert.match(second, /^ {2}group: none \(resumed without a new key exchange\)$/m);
    assert.match(second, /^ {2}extended master secret: yes$/m);
    assert.match(second, /^ {2}server certificate: CN=TypeTLS demo server/m);
    assert.match(
      second,
      /client certificate \(the server's view\): CN=TypeTLS demo client.*\(remembered from the first connection\)/,
    );
    assert.match(
      second,
      /6 handshake messages and a NewSessionTicket, 2 data records, 2 close_notify alerts/,
    );
  });

  it("--tls12 --resume --no-tickets resumes by session id (no NewSessionTicket)", async () => {
    const r = await runCli(["demo", "--tls12", "--resume", "--no-tickets", "--no-client-auth"]);
    assert.equal(r.code, 0, r.proc.transcript());
    const { first, second } = splitResume(r.stdout);
    assert.doesNotMatch(first, /NewSessionTicket/);
    assert.deepEqual(
      stepsOf(second),
      RESUMED_12.filter((s) => !s.endsWith("NewSessionTicket")),
    );
    assert.match(
      second,
      /^second connection: resumes the session of the first \(by session id, from the server's session cache\)$/m,
    );
    assert.match(second, /\+ session_id: the saved session's id, from the first connection's ServerHello/);
    assert.match(second, /^ {2}resumed: yes \(session_id\)$/m);
    // Without client authentication there was no step 4, 7 or 9 to skip.
    const skipped = second.slice(second.indexOf("skipped when resuming"));
    assert.deepEqual(
      [...skipped.matchAll(/^ ?(\d+) {2}(\w+)/gm)].map((m) => `${m[1]} ${m[2]}`),
      ["3 Certificate", "5 ServerKeyExchange", "6 ServerHelloDone", "8 ClientKeyExchange"],
    );
  });

  it("--resume (TLS 1.3): the ticket as a PSK, with a new key exchange and no certificates", async () => {
    const r = await runCli(["demo", "--resume"]);
    assert.equal(r.code, 0, r.proc.transcript());
    assert.equal(r.stderr, "");
    assert.match(
      r.stdout,
      /^TypeTLS demo: a TLS 1\.3 connection in this process, then a second one that resumes its session$/m,
    );
    const { first, second } = splitResume(r.stdout);
    assert.deepEqual(stepsOf(first), WIRE_ORDER_13, first);
    assert.deepEqual(stepsOf(second), RESUMED_13, second);
    assert.match(
      second,
      /^second connection: resumes the session of the first \(with the ticket as a PSK, psk_dhe_ke\)$/m,
    );
    assert.match(
      second,
      /^ 1 .*ClientHello .*and the ticket to resume\n\s+\+ pre_shared_key: the ticket from the first connection, and a binder/m,
    );
    assert.match(second, /\+ key_share: a new key exchange all the same \(psk_dhe_ke: forward secrecy\)/);
    assert.match(second, /^\s+pre_shared_key: 1 identity: the ticket \(\d+ bytes\), binder 32 bytes$/m);
    assert.match(
      second,
      /psk_key_exchange_modes,\s+pre_shared_key$/m,
      "pre_shared_key comes last (RFC 8446 §4.2.11)",
    );
    assert.match(second, /^ 2 .*ServerHello .*accepts the ticket/m);
    assert.match(second, /^\s+pre_shared_key: identity 0 accepted \(psk_dhe_ke\)$/m);
    assert.match(second, /^\s+group: X25519MLKEM768$/m);
    assert.match(second, /under the handshake keys \(from the ticket's key and the key shares\)/);
    assert.match(
      second,
      /^ - .*NewSessionTicket\s+after the handshake: a new ticket for the next connection$/m,
    );
    assert.doesNotMatch(second, /chain: CN=/, "no certificates in the resumed flight");
    const skipped = second.slice(second.indexOf("skipped when resuming"));
    assert.deepEqual(
      [...skipped.matchAll(/^ ?(\d+|-) {2}(\w+)/gm)].map((m) => `${m[1]} ${m[2]}`),
      [
        "4 CertificateRequest",
        "3 Certificate",
        "- CertificateVerify",
        "7 Certificate",
        "9 CertificateVerify",
      ],
    );
    assert.match(skipped, /Still there: a new key exchange \(psk_dhe_ke\) and the one round trip/);
    assert.match(second, /^ {2}resumed: yes \(psk_dhe_ke\)$/m);
    assert.match(second, /^ {2}group: X25519MLKEM768$/m);
    assert.match(
      second,
      /5 handshake messages \(and 2 dummy ChangeCipherSpec\), a NewSessionTicket after the handshake/,
    );
  });

  it("--resume --no-tickets (TLS 1.3): nothing to resume, and it says why", async () => {
    const r = await runCli(["demo", "--resume", "--no-tickets"]);
    assert.equal(r.code, 0, r.proc.transcript());
    assert.match(r.stdout, /^ - {2}NewSessionTicket {4}none: this server does not issue session tickets$/m);
    assert.match(
      r.stdout,
      /^second connection: none\n {2}the server issued no session ticket \(--no-tickets\), and TLS 1\.3 resumes only with one$/m,
    );
  });

  it("reports a bad option with exit 2", async () => {
    const r = await runCli(["demo", "--ciphers", "NOT-A-SUITE"]);
    assert.equal(r.code, 2, r.proc.transcript());
    assert.match(r.stderr, /typetls: unknown or unsupported cipher suite NOT-A-SUITE/);
    const g = await runCli(["demo", "--tls12", "--groups", "X25519MLKEM768"]);
    assert.equal(g.code, 2, g.proc.transcript());
    assert.match(g.stderr, /X25519MLKEM768 is TLS 1\.3 only/);
    const v = await runCli(["demo", "--tls12", "--max-version", "1.3"]);
    assert.equal(v.code, 2, v.proc.transcript());
  });
});
