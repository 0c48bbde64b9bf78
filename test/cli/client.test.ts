import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import * as net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import * as tls from "node:tls";
import { type StandardPki, standardPki } from "../fixtures/pki.js";
import { killAll, requirePeer, runCli, spawnPeer, startCliServer } from "./peers.js";

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

const SUMMARY =
  /^typetls: connected TLSv1\.2 TLS_ECDHE_ECDSA_WITH_AES_(128|256)_GCM_SHA(256|384) group X25519 alpn none verified yes$/m;

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
      assert.match(r.stderr, SUMMARY);
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
      assert.match(r.stderr, SUMMARY);
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

      const k = await runCli(["client", `localhost:${untrusted.port}`, "--insecure"], { input: "ping\n" });
      assert.equal(k.code, 0, k.proc.transcript());
      assert.match(k.stderr, /--insecure: the server's certificate is not verified/);
      assert.match(k.stderr, /verified no$/m);
      assert.equal(k.stdout, "ping\n");
    } finally {
      await untrusted.proc.kill();
      await expired.proc.kill();
    }
  });

  it("--trace prints each handshake message and --keylog appends CLIENT_RANDOM lines", async () => {
    const { proc, port } = await startCliServer([
      "--cert",
      pki.p256.files.chain,
      "--key",
      pki.p256.files.leafKey,
    ]);
    const keylog = join(tmp, "client-keys.txt");
    const envlog = join(tmp, "env-keys.txt");
    try {
      const ca = ["--ca", pki.p256.files.root];
      const r = await runCli(["client", `localhost:${port}`, ...ca, "--trace", "--keylog", keylog], {
        input: "t\n",
      });
      assert.equal(r.code, 0, r.proc.transcript());
      const trace = r.stderr.split("\n").filter((l) => l.startsWith("typetls: trace: "));
      const names = trace.map((l) => l.split(" ").slice(2, 6).join(" "));
      assert.deepEqual(names.slice(0, 10), [
        "client → server ClientHello",
        "client ← server ServerHello",
        "client ← server Certificate",
        "client ← server ServerKeyExchange",
        "client ← server ServerHelloDone",
        "client → server ClientKeyExchange",
        "client → server ChangeCipherSpec",
        "client → server Finished",
        "client ← server ChangeCipherSpec",
        "client ← server Finished",
      ]);
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

  it("presents a client certificate, offers ALPN and honours --ciphers/--groups (OpenSSL-style options)", async () => {
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
      const r = await runCli(
        [
          "client",
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
        ],
        { input: "GET / HTTP/1.0\r\n\r\n" },
      );
      assert.equal(r.code, 0, r.proc.transcript());
      assert.match(r.stdout, /^client certificate: CN=typetls client, O=TypeTLS Test$/m);
      assert.match(r.stdout, /^cipher: TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256$/m);
      assert.match(r.stdout, /^group: P-256$/m);
      assert.match(
        r.stderr,
        /connected TLSv1\.2 TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256 group P-256 alpn http\/1\.1 verified yes/,
      );

      const none = await runCli(["client", `localhost:${port}`, "--ca", pki.p256.files.root], { input: "" });
      assert.equal(none.code, 1, none.proc.transcript());
      assert.match(none.stderr, /typetls: error: peer sent fatal alert handshake_failure/);
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
      const r = await runCli(
        ["client", `[::1]:${srv.port}`, "--servername", "localhost", "--ca", pki.p256.files.root],
        {
          input: "six\n",
        },
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

  it("a bad option or a TLS 1.3-only configuration exits 2", async () => {
    const ca = join(tmp, "ca.pem");
    writeFileSync(ca, readFileSync(pki.p256.files.root));
    const r = await runCli(["client", "127.0.0.1:1", "--ca", ca, "--min-version", "1.3"]);
    assert.equal(r.code, 2, r.proc.transcript());
    assert.match(r.stderr, /typetls: TLS 1\.3 is not implemented yet/);
    const b = await runCli(["client", "127.0.0.1:1", "--frob"]);
    assert.equal(b.code, 2);
  });
});
