import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import * as net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import * as tls from "node:tls";
import { type StandardPki, standardPki } from "../fixtures/pki.js";
import {
  cli,
  converse,
  killAll,
  type Proc,
  requirePeer,
  runCli,
  spawnPeer,
  startCliServer,
} from "./peers.js";

let pki: StandardPki;
let tmp: string;
before(async () => {
  pki = await standardPki();
  tmp = mkdtempSync(join(tmpdir(), "typetls-cli-client-"));
});
after(async () => {
  await killAll();
  rmSync(tmp, { recursive: true, force: true });
});

/** TLS 1.3 with a peer on OpenSSL 3.0 (no ML-KEM): X25519, from the client's second key share. */
const SUMMARY_13 =
  /^typetls: connected TLSv1\.3 TLS_AES_(128|256)_GCM_SHA(256|384) group X25519 alpn none verified yes hello-retry no resumed: no$/m;
const SUMMARY_12 =
  /^typetls: connected TLSv1\.2 TLS_ECDHE_ECDSA_WITH_AES_(128|256)_GCM_SHA(256|384) group X25519 alpn none verified yes hello-retry no resumed: no$/m;

const KEYLOG_13 = [
  "CLIENT_HANDSHAKE_TRAFFIC_SECRET",
  "SERVER_HANDSHAKE_TRAFFIC_SECRET",
  "CLIENT_TRAFFIC_SECRET_0",
  "SERVER_TRAFFIC_SECRET_0",
  "EXPORTER_SECRET",
];

/** openssl s_server on 127.0.0.1 with the P-256 chain, and the port it listens on. */
async function opensslServer(pki: StandardPki, extra: string[]): Promise<{ proc: Proc; port: number }> {
  const proc = spawnPeer("openssl", [
    "s_server",
    "-accept",
    "127.0.0.1:0",
    "-cert",
    pki.p256.files.leaf,
    "-cert_chain",
    pki.p256.files.intermediate,
    "-key",
    pki.p256.files.leafKey,
    ...extra,
  ]);
  try {
    const m = await proc.waitFor(/ACCEPT 127\.0\.0\.1:(\d+)/, 10_000);
    return { proc, port: Number(m[1]) };
  } catch (e) {
    await proc.kill(500);
    throw e;
  }
}

/** A node:tls echo server on 127.0.0.1 with the given chain. */
async function nodeEchoServer(
  chain: StandardPki["p256"],
): Promise<{ port: number; close: () => Promise<void> }> {
  const server = tls.createServer(
    { cert: chain.chainPem, key: chain.leaf.keyPem, minVersion: "TLSv1.2", maxVersion: "TLSv1.2" },
    (s) => {
      s.on("error", () => {});
      s.pipe(s);
    },
  );
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.emit("close"); // no-op safety for listeners
      }),
  };
}

describe("typetls client", { timeout: 120_000 }, () => {
  it("talks HTTP to openssl s_server -www, prints the summary and exits 0", async (t) => {
    if (!requirePeer(t, "openssl")) return;
    const ss = spawnPeer("openssl", [
      "s_server",
      "-accept",
      "127.0.0.1:0",
      "-cert",
      pki.p256.files.leaf,
      "-cert_chain",
      pki.p256.files.intermediate,
      "-key",
      pki.p256.files.leafKey,
      "-www",
    ]);
    try {
      const m = await ss.waitFor(/ACCEPT 127\.0\.0\.1:(\d+)/, 10_000);
      const r = await runCli(
        ["client", `127.0.0.1:${m[1]}`, "--servername", "localhost", "--ca", pki.p256.files.root],
        {
          input: "GET / HTTP/1.0\r\n\r\n",
        },
      );
      assert.equal(r.code, 0, r.proc.transcript());
      assert.match(r.stdout, /^HTTP\/1\.0 200 ok/);
      assert.match(r.stdout, /s_server/);
      assert.match(r.stderr, SUMMARY_13);
    } finally {
      await ss.kill();
    }
  });

  it("sends standard input to a node:tls echo server and prints the reply", async () => {
    const srv = await nodeEchoServer(pki.p256);
    try {
      const input = `hello node\n${"y".repeat(40_000)}\nbye\n`;
      const r = await runCli(["client", `localhost:${srv.port}`, "--ca", pki.p256.files.root], { input });
      assert.equal(r.code, 0, r.proc.transcript());
      assert.equal(r.stdout, input);
      assert.match(r.stderr, SUMMARY_12);
    } finally {
      await srv.close();
    }
  });

  it("fails with ERR_TLS_CERT_ALTNAME_INVALID for a wrong --servername", async () => {
    const { proc, port } = await startCliServer([
      "--cert",
      pki.p256.files.chain,
      "--key",
      pki.p256.files.leafKey,
    ]);
    try {
      const r = await runCli(
        ["client", `127.0.0.1:${port}`, "--servername", "wrong.example", "--ca", pki.p256.files.root],
        { input: "x\n" },
      );
      assert.equal(r.code, 1, r.proc.transcript());
      assert.match(r.stderr, /typetls: error: certificate verification failed: ERR_TLS_CERT_ALTNAME_INVALID/);
      assert.match(r.stderr, /\(sent bad_certificate\)/);
      assert.equal(r.stdout, "");
      assert.doesNotMatch(r.stderr, /connected/);
    } finally {
      await proc.kill();
    }
  });

  it("fails for an untrusted or expired server certificate, and --insecure connects anyway", async () => {
    const untrusted = await startCliServer([
      "--cert",
      pki.untrusted.files.chain,
      "--key",
      pki.untrusted.files.leafKey,
    ]);
    const expired = await startCliServer([
      "--cert",
      pki.expired.files.chain,
      "--key",
      pki.expired.files.leafKey,
    ]);
    try {
      const r = await runCli(["client", `localhost:${untrusted.port}`, "--ca", pki.p256.files.root], {
        input: "",
      });
      assert.equal(r.code, 1, r.proc.transcript());
      assert.match(r.stderr, /certificate verification failed: UNABLE_TO_GET_ISSUER_CERT_LOCALLY/);

      const e = await runCli(["client", `localhost:${expired.port}`, "--ca", pki.expired.files.root], {
        input: "",
      });
      assert.equal(e.code, 1, e.proc.transcript());
      assert.match(
        e.stderr,
        /certificate verification failed: CERT_HAS_EXPIRED: .*\(sent certificate_expired\)/,
      );

      // Without --ca the default (Mozilla) roots apply, which do not include the test root.
      const d = await runCli(["client", `localhost:${untrusted.port}`], { input: "" });
      assert.equal(d.code, 1, d.proc.transcript());
      assert.match(d.stderr, /UNABLE_TO_GET_ISSUER_CERT_LOCALLY/);

      const k = await converse([`localhost:${untrusted.port}`, "--insecure"], "ping\n", /^ping$/m);
      assert.equal(k.code, 0, k.proc.transcript());
      assert.match(k.stderr, /--insecure: the server's certificate is not verified/);
      assert.match(k.stderr, / verified no hello-retry no resumed: no$/m);
      assert.equal(k.stdout, "ping\n");
    } finally {
      await untrusted.proc.kill();
      await expired.proc.kill();
    }
  });

  it("--trace prints each TLS 1.2 handshake message and --keylog appends CLIENT_RANDOM lines", async () => {
    const { proc, port } = await startCliServer([
      "--cert",
      pki.p256.files.chain,
      "--key",
      pki.p256.files.leafKey,
    ]);
    const keylog = join(tmp, "client-keys.txt");
    const envlog = join(tmp, "env-keys.txt");
    try {
      const ca = ["--ca", pki.p256.files.root, "--max-version", "1.2"];
      const r = await runCli(["client", `localhost:${port}`, ...ca, "--trace", "--keylog", keylog], {
        input: "t\n",
      });
      assert.equal(r.code, 0, r.proc.transcript());
      const trace = r.stderr.split("\n").filter((l) => l.startsWith("typetls: trace: "));
      const names = trace.map((l) => l.split(" ").slice(2, 6).join(" "));
      // The server's NewSessionTicket (RFC 5077) comes inside the handshake, before its ChangeCipherSpec.
      assert.deepEqual(names.slice(0, 11), [
        "client → server ClientHello",
        "client ← server ServerHello",
        "client ← server Certificate",
        "client ← server ServerKeyExchange",
        "client ← server ServerHelloDone",
        "client → server ClientKeyExchange",
        "client → server ChangeCipherSpec",
        "client → server Finished",
        "client ← server NewSessionTicket",
        "client ← server ChangeCipherSpec",
        "client ← server Finished",
      ]);
      assert.match(r.stderr, /client ← server NewSessionTicket lifetime=\d+s ticket="\d+ bytes"/);
      assert.match(r.stderr, /^typetls: session ticket received \(lifetime \d+s\)$/m);
      assert.match(r.stderr, /ServerHello version=TLSv1\.2 suite=TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256/);
      assert.match(r.stderr, /Certificate chain="CN=localhost, O=TypeTLS Test <- .*" verified=true/);
      assert.match(r.stderr, /client → server Alert warning close_notify/);
      assert.match(r.stderr, /client ← server Alert warning close_notify/);

      const again = await runCli(["client", `localhost:${port}`, ...ca, "-keylog", keylog], { input: "" });
      assert.equal(again.code, 0, again.proc.transcript());
      const lines = readFileSync(keylog, "utf8").trim().split("\n");
      assert.equal(lines.length, 2, "the key log is appended to");
      for (const l of lines) assert.match(l, /^CLIENT_RANDOM [0-9a-f]{64} [0-9a-f]{96}$/);

      const env = await runCli(["client", `localhost:${port}`, ...ca], {
        input: "",
        env: { SSLKEYLOGFILE: envlog },
      });
      assert.equal(env.code, 0, env.proc.transcript());
      assert.match(readFileSync(envlog, "utf8"), /^CLIENT_RANDOM [0-9a-f]{64} [0-9a-f]{96}\n$/);
    } finally {
      await proc.kill();
    }
  });

  it("presents a client certificate, offers ALPN and honours --ciphers/--groups/--max-version (OpenSSL-style options)", async () => {
    const { proc, port } = await startCliServer([
      "--cert",
      pki.p256.files.chain,
      "--key",
      pki.p256.files.leafKey,
      "--www",
      "--verify-client",
      "require",
      "--ca",
      pki.client.files.root,
      "--alpn",
      "http/1.1",
    ]);
    try {
      const r = await converse(
        [
          "-connect",
          `127.0.0.1:${port}`,
          "-servername",
          "localhost",
          "-CAfile",
          pki.p256.files.root,
          "-cert",
          pki.client.files.chain,
          "-key",
          pki.client.files.leafKey,
          "-alpn",
          "h2,http/1.1",
          "-ciphers",
          "ECDHE-ECDSA-CHACHA20-POLY1305",
          "-groups",
          "P-256",
          "-max_protocol",
          "TLSv1.2",
        ],
        "GET / HTTP/1.0\r\n\r\n",
      );
      assert.equal(r.code, 0, r.proc.transcript());
      assert.match(r.stdout, /^protocol: TLSv1\.2$/m);
      assert.match(r.stdout, /^client certificate: CN=typetls client, O=TypeTLS Test$/m);
      assert.match(r.stdout, /^cipher: TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256$/m);
      assert.match(r.stdout, /^group: P-256$/m);
      assert.match(
        r.stderr,
        /connected TLSv1\.2 TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256 group P-256 alpn http\/1\.1 verified yes/,
      );

      // The same over TLS 1.3 (the default), where suites name no key exchange.
      const t = await converse(
        [
          `127.0.0.1:${port}`,
          "--servername",
          "localhost",
          "--ca",
          pki.p256.files.root,
          "--cert",
          pki.client.files.chain,
          "--key",
          pki.client.files.leafKey,
          "--alpn",
          "http/1.1",
          "--ciphers",
          "TLS_CHACHA20_POLY1305_SHA256",
          "--groups",
          "P-256,X25519",
        ],
        "GET / HTTP/1.0\r\n\r\n",
      );
      assert.equal(t.code, 0, t.proc.transcript());
      assert.match(t.stdout, /^protocol: TLSv1\.3$/m);
      assert.match(t.stdout, /^cipher: TLS_CHACHA20_POLY1305_SHA256$/m);
      assert.match(t.stdout, /^group: P-256$/m);
      assert.match(t.stdout, /^client certificate: CN=typetls client, O=TypeTLS Test$/m);
      assert.match(
        t.stderr,
        /connected TLSv1\.3 TLS_CHACHA20_POLY1305_SHA256 group P-256 alpn http\/1\.1 verified yes hello-retry no/,
      );

      // No client certificate: TLS 1.2 fails in the handshake, TLS 1.3 after the client's Finished.
      const none12 = await runCli(
        ["client", `localhost:${port}`, "--ca", pki.p256.files.root, "--max-version", "1.2"],
        { input: "" },
      );
      assert.equal(none12.code, 1, none12.proc.transcript());
      assert.match(none12.stderr, /typetls: error: peer sent fatal alert handshake_failure/);
      const none = await runCli(["client", `localhost:${port}`, "--ca", pki.p256.files.root], { input: "" });
      assert.equal(none.code, 1, none.proc.transcript());
      assert.match(none.stderr, /typetls: error: peer sent fatal alert certificate_required/);
    } finally {
      await proc.kill();
    }
  });

  it("connects to an IPv6 literal written as [::1]:PORT", async (t) => {
    let srv: Awaited<ReturnType<typeof startCliServer>>;
    try {
      srv = await startCliServer([
        "--host",
        "::1",
        "--cert",
        pki.p256.files.chain,
        "--key",
        pki.p256.files.leafKey,
      ]);
    } catch (e) {
      // Not a peer: loopback IPv6 is missing on this machine.
      t.skip(`no IPv6 loopback: ${(e as Error).message.split("\n")[0]}`);
      return;
    }
    try {
      assert.equal(srv.host, "[::1]");
      const r = await converse(
        [`[::1]:${srv.port}`, "--servername", "localhost", "--ca", pki.p256.files.root],
        "six\n",
        /^six$/m,
      );
      assert.equal(r.code, 0, r.proc.transcript());
      assert.equal(r.stdout, "six\n");
    } finally {
      await srv.proc.kill();
    }
  });

  it("exits 1 when the server closes without close_notify or refuses the connection", async () => {
    // A TCP server that accepts and closes at once.
    const raw = net.createServer((s) => s.destroy());
    await new Promise<void>((resolve) => raw.listen(0, "127.0.0.1", resolve));
    const port = (raw.address() as net.AddressInfo).port;
    try {
      const r = await runCli(["client", `127.0.0.1:${port}`, "--ca", pki.p256.files.root], { input: "" });
      assert.equal(r.code, 1, r.proc.transcript());
      assert.match(r.stderr, /^typetls: error: /m);
    } finally {
      await new Promise<void>((resolve) => raw.close(() => resolve()));
    }
    const refused = await runCli(["client", `127.0.0.1:${port}`, "--ca", pki.p256.files.root], { input: "" });
    assert.equal(refused.code, 1, refused.proc.transcript());
    assert.match(refused.stderr, /ECONNREFUSED/);
  });

  it("a bad option or an inconsistent version/group configuration exits 2", async () => {
    const ca = join(tmp, "ca.pem");
    writeFileSync(ca, readFileSync(pki.p256.files.root));
    const base = ["client", "127.0.0.1:1", "--ca", ca];
    const r = await runCli([...base, "--min-version", "1.3", "--max-version", "1.2"]);
    assert.equal(r.code, 2, r.proc.transcript());
    assert.match(r.stderr, /typetls: minVersion is above maxVersion/);
    const pq = await runCli([...base, "--groups", "X25519MLKEM768", "--max-version", "TLSv1.2"]);
    assert.equal(pq.code, 2, pq.proc.transcript());
    assert.match(pq.stderr, /X25519MLKEM768 is TLS 1\.3 only/);
    const ks = await runCli([...base, "--groups", "X25519", "--key-shares", "P-384"]);
    assert.equal(ks.code, 2, ks.proc.transcript());
    assert.match(ks.stderr, /key share group P-384 is not among the enabled groups/);
    const g = await runCli([...base, "--groups", "X448"]);
    assert.equal(g.code, 2, g.proc.transcript());
    assert.match(g.stderr, /unknown or unsupported group X448/);
    const b = await runCli(["client", "127.0.0.1:1", "--frob"]);
    assert.equal(b.code, 2);
  });

  it("TLS 1.3 against openssl s_server -tls1_3: summary, --trace of the 1.3 flight, tickets, key log", async (t) => {
    if (!requirePeer(t, "openssl")) return;
    const { proc, port } = await opensslServer(pki, ["-tls1_3", "-www"]);
    const keylog = join(tmp, "client13-keys.txt");
    try {
      const r = await runCli(
        [
          "client",
          `127.0.0.1:${port}`,
          "--servername",
          "localhost",
          "--ca",
          pki.p256.files.root,
          "--trace",
          "--keylog",
          keylog,
        ],
        { input: "GET / HTTP/1.0\r\n\r\n" },
      );
      assert.equal(r.code, 0, r.proc.transcript());
      assert.match(r.stdout, /^HTTP\/1\.0 200 ok/);
      assert.match(r.stdout, /Protocol {2}: TLSv1\.3/);
      assert.match(r.stderr, SUMMARY_13);
      const names = r.stderr
        .split("\n")
        .filter((l) => l.startsWith("typetls: trace: "))
        .map((l) => l.split(" ").slice(2, 6).join(" "));
      assert.deepEqual(names.slice(0, 8), [
        "client → server ClientHello",
        "client ← server ServerHello",
        "client ← server EncryptedExtensions",
        "client ← server Certificate",
        "client ← server CertificateVerify",
        "client ← server Finished",
        "client → server ChangeCipherSpec",
        "client → server Finished",
      ]);
      assert.match(r.stderr, /client ← server ServerHello version=TLSv1\.3 suite=TLS_AES_/);
      // OpenSSL sends two tickets after the handshake.
      assert.match(r.stderr, /client ← server NewSessionTicket lifetime=\d+s/);
      assert.match(r.stderr, /^typetls: session ticket received \(lifetime \d+s\)$/m);
      const labels = readFileSync(keylog, "utf8")
        .trim()
        .split("\n")
        .map((l) => {
          assert.match(l, /^[A-Z_0-9]+ [0-9a-f]{64} [0-9a-f]{64}$/);
          return l.split(" ")[0];
        });
      assert.deepEqual(labels, KEYLOG_13);
    } finally {
      await proc.kill();
    }
  });

  it("TLS 1.3: a server that wants another group sends a HelloRetryRequest; --key-shares picks the shares", async (t) => {
    if (!requirePeer(t, "openssl")) return;
    const { proc, port } = await opensslServer(pki, ["-tls1_3", "-www", "-groups", "P-384"]);
    try {
      const args = ["client", `127.0.0.1:${port}`, "--servername", "localhost", "--ca", pki.p256.files.root];
      const r = await runCli([...args, "--trace"], { input: "GET / HTTP/1.0\r\n\r\n" });
      assert.equal(r.code, 0, r.proc.transcript());
      assert.match(
        r.stderr,
        /connected TLSv1\.3 TLS_AES_\S+ group P-384 alpn none verified yes hello-retry yes resumed: no$/m,
      );
      assert.match(r.stderr, /client ← server HelloRetryRequest /);
      assert.match(r.stderr, /client → server ClientHello .*retry="after HelloRetryRequest for P-384"/);
      // With a P-384 key share from the start, no retry.
      const k = await runCli([...args, "--key-shares", "P-384"], { input: "GET / HTTP/1.0\r\n\r\n" });
      assert.equal(k.code, 0, k.proc.transcript());
      assert.match(k.stderr, /group P-384 alpn none verified yes hello-retry no resumed: no$/m);
    } finally {
      await proc.kill();
    }
  });

  it("--max-version 1.2 against a TLS 1.3 server negotiates TLS 1.2", async (t) => {
    if (!requirePeer(t, "openssl")) return;
    const { proc, port } = await opensslServer(pki, ["-www"]);
    try {
      const r = await runCli(
        [
          "client",
          `127.0.0.1:${port}`,
          "--servername",
          "localhost",
          "--ca",
          pki.p256.files.root,
          "--max-version",
          "1.2",
        ],
        { input: "GET / HTTP/1.0\r\n\r\n" },
      );
      assert.equal(r.code, 0, r.proc.transcript());
      assert.match(r.stdout, /Protocol {2}: TLSv1\.2/);
      assert.match(r.stderr, SUMMARY_12);
      // and --min-version 1.3 alone means TLS 1.3 only
      const only13 = await runCli(
        [
          "client",
          `127.0.0.1:${port}`,
          "--servername",
          "localhost",
          "--ca",
          pki.p256.files.root,
          "--min-version",
          "TLSv1.3",
          "--trace",
        ],
        { input: "GET / HTTP/1.0\r\n\r\n" },
      );
      assert.equal(only13.code, 0, only13.proc.transcript());
      assert.match(only13.stderr, SUMMARY_13);
      assert.doesNotMatch(only13.stderr, /TLS_ECDHE_/, "no TLS 1.2 suites offered");
      // --key-update needs TLS 1.3: over 1.2 it says so and goes on.
      const k = await runCli(
        [
          "client",
          `127.0.0.1:${port}`,
          "--servername",
          "localhost",
          "--ca",
          pki.p256.files.root,
          "--max-version",
          "1.2",
          "--key-update",
        ],
        { input: "GET / HTTP/1.0\r\n\r\n" },
      );
      assert.equal(k.code, 0, k.proc.transcript());
      assert.match(k.stderr, /--key-update: KeyUpdate is TLS 1\.3 only, not sent over TLSv1\.2/);
    } finally {
      await proc.kill();
    }
  });

  it("--key-update against openssl s_server: data flows both ways after the KeyUpdate", async (t) => {
    if (!requirePeer(t, "openssl")) return;
    const { proc: ss, port } = await opensslServer(pki, ["-tls1_3", "-msg"]);
    const c = cli([
      "client",
      `127.0.0.1:${port}`,
      "--servername",
      "localhost",
      "--ca",
      pki.p256.files.root,
      "--key-update",
      "--trace",
    ]);
    try {
      await c.waitFor(/typetls: connected TLSv1\.3/);
      c.write("before the update\n");
      await c.waitFor(/^typetls: key update sent \(update_requested\)$/m);
      assert.match(c.stderr, /client → server KeyUpdate request=update_requested/);
      await ss.waitFor(/^before the update$/m);
      await ss.waitFor(/<<< TLS 1\.3, Handshake \[length 0005\], KeyUpdate/);
      // Data under the client's new keys reaches the server.
      c.write("after the update\n");
      await ss.waitFor(/^after the update$/m);
      // The server updates its own keys (it was asked to) before it writes again.
      ss.write("reply from s_server\n");
      await c.waitFor(/^reply from s_server$/m);
      assert.match(c.stderr, /client ← server KeyUpdate request=update_not_requested/);
      c.end();
      assert.equal(await c.waitExit(10_000), 0, c.transcript());
    } finally {
      await c.kill();
      await ss.kill();
    }
  });
});
