import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import * as net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import * as tls from "node:tls";
import { ClientConfig } from "../../src/config.js";
import { ClientConnection } from "../../src/connection.js";
import { type StandardPki, standardPki } from "../fixtures/pki.js";
import { converse, killAll, type Proc, requirePeer, runCli, spawnPeer, startCliServer } from "./peers.js";

let pki: StandardPki;
let tmp: string;
before(async () => {
  pki = await standardPki();
  tmp = mkdtempSync(join(tmpdir(), "typetls-cli-server-"));
});
after(async () => {
  await killAll();
  rmSync(tmp, { recursive: true, force: true });
});

const p256Args = (): string[] => ["--cert", pki.p256.files.chain, "--key", pki.p256.files.leafKey];

/** One line through node:tls to the server and back (proves the server still serves). */
function nodeEcho(port: number, line: string, opts: tls.ConnectionOptions = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({
      host: "127.0.0.1",
      port,
      servername: "localhost",
      ca: readFileSync(pki.p256.files.root, "utf8"),
      minVersion: "TLSv1.2",
      ...opts,
    });
    let got = "";
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error(`no echo within 10 s (got ${JSON.stringify(got)})`));
    }, 10_000);
    s.setEncoding("utf8");
    s.on("secureConnect", () => s.write(line));
    s.on("data", (d: string) => {
      got += d;
      if (got.includes(line)) s.end();
    });
    s.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    s.on("close", () => {
      clearTimeout(timer);
      resolve(got);
    });
  });
}

/** curl the --www page; returns curl's exit code and output. */
async function curl(
  port: number,
  extra: string[] = [],
): Promise<{ code: number | null; out: string; proc: Proc }> {
  const p = spawnPeer("curl", [
    "-sS",
    "-i",
    "--max-time",
    "10",
    "--cacert",
    pki.p256.files.root,
    "--resolve",
    `localhost:${port}:127.0.0.1`,
    ...extra,
    `https://localhost:${port}/`,
  ]);
  p.end();
  const code = await p.waitExit(15_000);
  return { code, out: p.stdout, proc: p };
}

describe("typetls server", { timeout: 120_000 }, () => {
  it("--handshake-timeout drops a client that sends half a ClientHello, and goes on serving", async () => {
    const { proc, port } = await startCliServer([...p256Args(), "--handshake-timeout", "1"]);
    try {
      const slow = net.connect(port, "127.0.0.1");
      await new Promise((r) => slow.once("connect", r));
      const start = Date.now();
      slow.write(Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01])); // a record header, one byte of body
      const got: Buffer[] = [];
      slow.on("data", (d: Buffer) => got.push(d));
      await new Promise((r) => slow.once("close", r));
      const took = Date.now() - start;
      assert.ok(took >= 900 && took < 10_000, `dropped after ${took} ms`);
      // A fatal user_canceled alert in the clear, then the close.
      assert.deepEqual([...Buffer.concat(got)], [0x15, 0x03, 0x01, 0x00, 0x02, 0x02, 90]);
      await proc.waitFor(/handshake not complete after 1000 ms/, 5000);
      assert.equal(await nodeEcho(port, "still serving"), "still serving");
    } finally {
      await proc.kill();
    }
  });

  it("--handshake-timeout takes whole seconds", async () => {
    const r = await runCli(["server", "--port", "0", ...p256Args(), "--handshake-timeout", "0.5"]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /--handshake-timeout: expected seconds/);
  });

  it("prints the listening line, echoes to openssl s_client, and exits 0 on SIGTERM", async (t) => {
    if (!requirePeer(t, "openssl")) return;
    const { proc, port, host } = await startCliServer(p256Args());
    try {
      assert.equal(host, "127.0.0.1");
      assert.ok(port > 0);
      const sc = spawnPeer("openssl", [
        "s_client",
        "-connect",
        `127.0.0.1:${port}`,
        "-servername",
        "localhost",
        "-CAfile",
        pki.p256.files.root,
        "-verify_return_error",
        "-quiet",
      ]);
      try {
        sc.write("ping from openssl\n");
        await sc.waitFor(/ping from openssl/, 10_000);
        assert.match(sc.stdout, /^ping from openssl$/m);
      } finally {
        await sc.kill();
      }
      assert.equal(await proc.kill(), 0, proc.transcript());
    } finally {
      await proc.kill();
    }
  });

  it("serves concurrent node:tls clients in echo mode", async () => {
    const { proc, port } = await startCliServer(p256Args());
    try {
      const lines = Array.from({ length: 6 }, (_, i) => `line ${i} ${"x".repeat(i * 1000)}\n`);
      const got = await Promise.all(lines.map((l) => nodeEcho(port, l)));
      assert.deepEqual(got, lines);
      assert.equal(proc.stderr, "", proc.transcript());
      assert.equal(await proc.kill(), 0, "SIGTERM closes the listener and exits 0");
    } finally {
      await proc.kill();
    }
  });

  it("--www answers curl with a summary of the connection (TLS 1.3, X25519: OpenSSL 3.0 has no ML-KEM)", async (t) => {
    if (!requirePeer(t, "curl")) return;
    const { proc, port } = await startCliServer([...p256Args(), "--www", "--alpn", "http/1.1"]);
    try {
      const r = await curl(port);
      assert.equal(r.code, 0, r.proc.transcript());
      assert.match(r.out, /^HTTP\/1\.0 200 ok\r$/m);
      assert.match(r.out, /^Content-Type: text\/plain\r$/m);
      assert.match(r.out, /^protocol: TLSv1\.3$/m);
      assert.match(r.out, /^cipher: TLS_AES_(128|256)_GCM_SHA(256|384)$/m);
      assert.match(r.out, /^group: X25519$/m);
      assert.match(r.out, /^hello retry: no$/m);
      assert.match(r.out, /^client certificate: none$/m);
      assert.match(r.out, /^alpn: http\/1\.1$/m);
      assert.match(r.out, /^sni: localhost$/m);
      assert.match(r.out, /^extended master secret: n\/a \(TLS 1\.3\)$/m);
      assert.match(r.out, /^resumed: no$/m);
    } finally {
      await proc.kill();
    }
  });

  it("--www over TLS 1.2 (curl --tls-max 1.2) still shows the TLS 1.2 parameters", async (t) => {
    if (!requirePeer(t, "curl")) return;
    const { proc, port } = await startCliServer([...p256Args(), "--www", "--alpn", "http/1.1"]);
    try {
      const r = await curl(port, ["--tls-max", "1.2"]);
      assert.equal(r.code, 0, r.proc.transcript());
      assert.match(r.out, /^protocol: TLSv1\.2$/m);
      assert.match(r.out, /^cipher: TLS_ECDHE_ECDSA_WITH_AES_(128|256)_GCM_SHA(256|384)$/m);
      assert.match(r.out, /^group: X25519$/m);
      assert.match(r.out, /^hello retry: no$/m);
      assert.match(r.out, /^extended master secret: yes$/m);
    } finally {
      await proc.kill();
    }
  });

  it("--groups P-384 makes an X25519-first client (openssl s_client) retry: hello retry: yes", async (t) => {
    if (!requirePeer(t, "openssl")) return;
    const { proc, port } = await startCliServer([...p256Args(), "--www", "--groups", "P-384", "--trace"]);
    try {
      const sc = spawnPeer("openssl", [
        "s_client",
        "-connect",
        `127.0.0.1:${port}`,
        "-servername",
        "localhost",
        "-CAfile",
        pki.p256.files.root,
        "-verify_return_error",
        "-groups",
        "X25519:P-384",
        "-ign_eof",
        "-quiet",
      ]);
      try {
        sc.end("GET / HTTP/1.0\r\n\r\n");
        assert.equal(await sc.waitExit(10_000), 0, sc.transcript());
        assert.match(sc.stdout, /^protocol: TLSv1\.3$/m);
        assert.match(sc.stdout, /^group: P-384$/m);
        assert.match(sc.stdout, /^hello retry: yes$/m);
      } finally {
        await sc.kill();
      }
      assert.match(proc.stderr, /client ← server HelloRetryRequest suite=TLS_AES_\S+ group=P-384/);
      assert.match(proc.stderr, /client → server ClientHello .*retry="after HelloRetryRequest"/);
    } finally {
      await proc.kill();
    }
  });

  it("--key-update (echo mode) updates the server's keys after the first data; openssl s_client keeps talking", async (t) => {
    if (!requirePeer(t, "openssl")) return;
    const { proc, port } = await startCliServer([...p256Args(), "--key-update", "--trace"]);
    try {
      const sc = spawnPeer("openssl", [
        "s_client",
        "-connect",
        `127.0.0.1:${port}`,
        "-servername",
        "localhost",
        "-CAfile",
        pki.p256.files.root,
        "-verify_return_error",
        "-msg",
      ]);
      try {
        await sc.waitFor(/^Verify return code: 0 \(ok\)$/m, 10_000);
        sc.write("first line\n");
        await proc.waitFor(/^typetls: connection #1: key update sent \(update_requested\)$/m, 10_000);
        await sc.waitFor(/<<< TLS 1\.3, Handshake \[length 0005\], KeyUpdate/, 10_000);
        await sc.waitFor(/^first line$/m, 10_000);
        // s_client answers the request with its own KeyUpdate when it writes next.
        sc.write("second line\n");
        await sc.waitFor(/^second line$/m, 10_000);
        await proc.waitFor(/client → server KeyUpdate request=update_not_requested/, 10_000);
        assert.match(proc.stderr, /client ← server KeyUpdate request=update_requested/);
      } finally {
        await sc.kill();
      }
      assert.doesNotMatch(proc.stderr, /failed:/);
    } finally {
      await proc.kill();
    }
  });

  it("--www with --verify-client require shows the client certificate, and refuses clients without one", async (t) => {
    if (!requirePeer(t, "curl")) return;
    const { proc, port } = await startCliServer([
      ...p256Args(),
      "--www",
      "--verify-client",
      "require",
      "--ca",
      pki.client.files.root,
    ]);
    try {
      const r = await curl(port, ["--cert", pki.client.files.chain, "--key", pki.client.files.leafKey]);
      assert.equal(r.code, 0, r.proc.transcript());
      assert.match(r.out, /^client certificate: CN=typetls client, O=TypeTLS Test$/m);
      assert.match(r.out, /^client certificate verified: yes$/m);

      const none = await curl(port);
      assert.notEqual(none.code, 0, none.proc.transcript());
      // TLS 1.3: the server finds out after the client's Finished, and says certificate_required.
      await proc.waitFor(
        /connection #\d+ from 127\.0\.0\.1:\d+ failed: .*\(sent certificate_required\) \[ERR_TLS_CLIENT_CERT_REQUIRED\]/,
        10_000,
      );
      const none12 = await curl(port, ["--tls-max", "1.2"]);
      assert.notEqual(none12.code, 0, none12.proc.transcript());
      await proc.waitFor(/connection #\d+ from 127\.0\.0\.1:\d+ failed: .*handshake_failure/, 10_000);
      // and it still serves
      const again = await curl(port, ["--cert", pki.client.files.chain, "--key", pki.client.files.leafKey]);
      assert.equal(again.code, 0, again.proc.transcript());
    } finally {
      await proc.kill();
    }
  });

  it("survives garbage connections and still serves the next client", async () => {
    const { proc, port } = await startCliServer(p256Args());
    try {
      for (const junk of [randomBytes(700), Buffer.from("GET / HTTP/1.1\r\nHost: x\r\n\r\n")]) {
        await new Promise<void>((resolve, reject) => {
          const s = net.connect({ host: "127.0.0.1", port }, () => s.write(junk));
          const timer = setTimeout(() => {
            s.destroy();
            reject(new Error("the server did not close a garbage connection within 10 s"));
          }, 10_000);
          s.on("data", () => {});
          s.on("error", () => {}); // a reset is fine
          s.on("close", () => {
            clearTimeout(timer);
            resolve();
          });
        });
      }
      await proc.waitFor(/failed: .*\((sent|peer sent) \w+\)|failed: .*\[ERR_TLS/, 10_000);
      const lines = proc.stderr.split("\n").filter((l) => l.includes("failed:"));
      assert.equal(lines.length, 2, proc.transcript());
      assert.equal(await nodeEcho(port, "still here\n"), "still here\n");
      assert.ok(proc.running, "the server must still run");
    } finally {
      await proc.kill();
    }
  });

  it("--trace prints the TLS 1.2 handshake and --keylog writes CLIENT_RANDOM lines", async () => {
    const keylog = join(tmp, "server-keys.txt");
    const { proc, port } = await startCliServer([
      ...p256Args(),
      "--trace",
      "--keylog",
      keylog,
      "--max-version",
      "1.2",
    ]);
    try {
      assert.equal(await nodeEcho(port, "traced\n"), "traced\n");
      await proc.waitFor(/client ← server Finished/, 10_000);
      assert.match(proc.stderr, /trace: #1 127\.0\.0\.1:\d+ client → server ClientHello version=TLSv1\.2 /);
      assert.match(proc.stderr, /client ← server ServerHello version=TLSv1\.2 suite=TLS_ECDHE_ECDSA_/);
      assert.match(
        proc.stderr,
        /client ← server ServerKeyExchange group=X25519 signature=ecdsa_secp256r1_sha256/,
      );
      const lines = readFileSync(keylog, "utf8").trim().split("\n");
      assert.equal(lines.length, 1);
      assert.match(lines[0]!, /^CLIENT_RANDOM [0-9a-f]{64} [0-9a-f]{96}$/);
      proc.child.kill("SIGINT");
      assert.equal(await proc.waitExit(10_000), 0, "SIGINT exits 0");
    } finally {
      await proc.kill();
    }
  });

  it("--trace prints the TLS 1.3 flight and --keylog the five TLS 1.3 secrets; --no-middlebox-compat drops the CCS", async () => {
    const keylog = join(tmp, "server13-keys.txt");
    const { proc, port } = await startCliServer([...p256Args(), "--trace", "--keylog", keylog]);
    try {
      assert.equal(await nodeEcho(port, "traced 1.3\n"), "traced 1.3\n");
      await proc.waitFor(/client → server Finished/, 10_000);
      const names = (): string[] =>
        proc.stderr
          .split("\n")
          .filter((l) => l.startsWith("typetls: trace: #1 "))
          .map((l) => l.split(" ").slice(4, 8).join(" "));
      assert.deepEqual(names().slice(0, 8), [
        "client → server ClientHello",
        "client ← server ServerHello",
        "client ← server ChangeCipherSpec",
        "client ← server EncryptedExtensions",
        "client ← server Certificate",
        "client ← server CertificateVerify",
        "client ← server Finished",
        "client → server Finished",
      ]);
      assert.match(
        proc.stderr,
        /client ← server ServerHello version=TLSv1\.3 suite=TLS_AES_\S+ group=X25519 /,
      );
      const labels = readFileSync(keylog, "utf8")
        .trim()
        .split("\n")
        .map((l) => l.split(" ")[0]);
      assert.deepEqual(labels, [
        "CLIENT_HANDSHAKE_TRAFFIC_SECRET",
        "SERVER_HANDSHAKE_TRAFFIC_SECRET",
        "CLIENT_TRAFFIC_SECRET_0",
        "SERVER_TRAFFIC_SECRET_0",
        "EXPORTER_SECRET",
      ]);

      // Our client without middlebox compatibility (no legacy session id): no ChangeCipherSpec either way.
      const r = await converse(
        [`localhost:${port}`, "--ca", pki.p256.files.root, "--no-middlebox-compat", "--trace"],
        "x\n",
        /^x$/m,
      );
      assert.equal(r.code, 0, r.proc.transcript());
      assert.equal(r.stdout, "x\n");
      assert.match(r.stderr, /connected TLSv1\.3 .* group X25519MLKEM768 /);
      assert.doesNotMatch(r.stderr, /ChangeCipherSpec/);
      assert.doesNotMatch(r.stderr, /session_id=/);
    } finally {
      await proc.kill();
    }
  });

  it("chooses among several certificates by what the suite (1.2) or the signature algorithms (1.3) need", async () => {
    const { proc, port } = await startCliServer([
      "--cert",
      pki.p256.files.chain,
      "--key",
      pki.p256.files.leafKey,
      "--cert",
      pki.rsa.files.chain,
      "--key",
      pki.rsa.files.leafKey,
    ]);
    try {
      const rsaRoot = readFileSync(pki.rsa.files.root, "utf8");
      const got = await nodeEcho(port, "rsa please\n", {
        ca: rsaRoot,
        ciphers: "ECDHE-RSA-AES128-GCM-SHA256",
        maxVersion: "TLSv1.2",
      });
      assert.equal(got, "rsa please\n");
      assert.equal(
        await nodeEcho(port, "ecdsa please\n", {
          ciphers: "ECDHE-ECDSA-AES256-GCM-SHA384",
          maxVersion: "TLSv1.2",
        }),
        "ecdsa please\n",
      );
      // TLS 1.3 suites say nothing about the key: the client's signature_algorithms decide.
      assert.equal(
        await nodeEcho(port, "rsa 1.3\n", { ca: rsaRoot, sigalgs: "rsa_pss_rsae_sha256" }),
        "rsa 1.3\n",
      );
      assert.equal(await nodeEcho(port, "ecdsa 1.3\n", { sigalgs: "ecdsa_secp256r1_sha256" }), "ecdsa 1.3\n");
    } finally {
      await proc.kill();
    }
  });

  it("half-close: a request sent together with the client's close_notify still gets its --www answer (RFC 8446 §6.1)", async () => {
    const { proc, port } = await startCliServer([...p256Args(), "--www"]);
    try {
      const conn = new ClientConnection(new ClientConfig({ ca: readFileSync(pki.p256.files.root, "utf8") }), {
        serverName: "localhost",
      });
      const got = await new Promise<string>((resolve, reject) => {
        let text = "";
        const sock = net.connect({ host: "127.0.0.1", port });
        const timer = setTimeout(() => {
          sock.destroy();
          reject(new Error(`no answer within 10 s (got ${JSON.stringify(text)})`));
        }, 10_000);
        // Everything the connection has to send in one tick goes out in one TCP write.
        let queued = false;
        const flush = (): void => {
          if (queued) return;
          queued = true;
          queueMicrotask(() => {
            queued = false;
            const out = conn.takeOutgoing();
            if (out.length > 0) sock.write(out);
          });
        };
        conn.on("outgoing", flush);
        conn.on("data", (d) => {
          text += new TextDecoder().decode(d);
        });
        conn.on("handshake", () => {
          // Finished, the request and close_notify in one TCP write (gnutls-cli with a piped request
          // sends close_notify right after it).
          conn.write(new TextEncoder().encode("GET / HTTP/1.0\r\n\r\n"));
          conn.close();
        });
        sock.on("data", (d: Buffer) => conn.receive(new Uint8Array(d)));
        sock.on("error", () => {});
        sock.on("close", () => {
          clearTimeout(timer);
          resolve(text);
        });
        sock.on("connect", flush);
        conn.start();
      });
      assert.match(got, /^HTTP\/1\.0 200 ok/, proc.transcript());
    } finally {
      await proc.kill();
    }
  });

  it("configuration errors exit 2 with the library's message", async () => {
    const v = await runCli([
      "server",
      "--port",
      "0",
      ...p256Args(),
      "--min-version",
      "1.3",
      "--max-version",
      "1.2",
    ]);
    assert.equal(v.code, 2, v.proc.transcript());
    assert.match(v.stderr, /^typetls: minVersion is above maxVersion$/m);
    const pq = await runCli([
      "server",
      "--port",
      "0",
      ...p256Args(),
      "--groups",
      "X25519MLKEM768",
      "--max-version",
      "1.2",
    ]);
    assert.equal(pq.code, 2, pq.proc.transcript());
    assert.match(pq.stderr, /X25519MLKEM768 is TLS 1\.3 only/);
    const ku = await runCli(["server", "--port", "0", ...p256Args(), "--www", "--key-update"]);
    assert.equal(ku.code, 2, ku.proc.transcript());
    assert.match(ku.stderr, /--key-update works in echo mode/);
    const suite = await runCli(["server", "--port", "0", ...p256Args(), "--ciphers", "RC4-MD5"]);
    assert.equal(suite.code, 2);
    assert.match(suite.stderr, /typetls: unknown or unsupported cipher suite RC4-MD5/);
    const mismatch = await runCli([
      "server",
      "--port",
      "0",
      "--cert",
      pki.p256.files.chain,
      "--key",
      pki.rsa.files.leafKey,
    ]);
    assert.equal(mismatch.code, 2);
    assert.match(mismatch.stderr, /private key does not match the certificate/);
    const mode = await runCli(["server", "--port", "0", ...p256Args(), "--verify-client", "always"]);
    assert.equal(mode.code, 2);
    assert.match(mode.stderr, /--verify-client: expected none, request or require/);
    const noCa = await runCli(["server", "--port", "0", ...p256Args(), "--verify-client", "require"]);
    assert.equal(noCa.code, 2);
    assert.match(noCa.stderr, /needs a ca/);
  });
});
