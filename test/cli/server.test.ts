import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import * as net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import * as tls from "node:tls";
import { type StandardPki, standardPki } from "../fixtures/pki.js";
import { killAll, type Proc, requirePeer, runCli, spawnPeer, startCliServer } from "./peers.js";

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

  it("--www answers curl with a summary of the connection", async (t) => {
    if (!requirePeer(t, "curl")) return;
    const { proc, port } = await startCliServer([...p256Args(), "--www", "--alpn", "http/1.1"]);
    try {
      const r = await curl(port);
      assert.equal(r.code, 0, r.proc.transcript());
      assert.match(r.out, /^HTTP\/1\.0 200 ok\r$/m);
      assert.match(r.out, /^Content-Type: text\/plain\r$/m);
      assert.match(r.out, /^protocol: TLSv1\.2$/m);
      assert.match(r.out, /^cipher: TLS_ECDHE_ECDSA_WITH_AES_(128|256)_GCM_SHA(256|384)$/m);
      assert.match(r.out, /^group: X25519$/m);
      assert.match(r.out, /^client certificate: none$/m);
      assert.match(r.out, /^alpn: http\/1\.1$/m);
      assert.match(r.out, /^sni: localhost$/m);
      assert.match(r.out, /^resumed: no$/m);
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

  it("--trace prints the handshake and --keylog writes CLIENT_RANDOM lines", async () => {
    const keylog = join(tmp, "server-keys.txt");
    const { proc, port } = await startCliServer([...p256Args(), "--trace", "--keylog", keylog]);
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

  it("chooses among several certificates by what the suite needs", async () => {
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
      });
      assert.equal(got, "rsa please\n");
      assert.equal(
        await nodeEcho(port, "ecdsa please\n", { ciphers: "ECDHE-ECDSA-AES256-GCM-SHA384" }),
        "ecdsa please\n",
      );
    } finally {
      await proc.kill();
    }
  });

  it("configuration errors exit 2 with the library's message", async () => {
    const v13 = await runCli(["server", "--port", "0", ...p256Args(), "--max-version", "1.3"]);
    assert.equal(v13.code, 2, v13.proc.transcript());
    assert.match(v13.stderr, /^typetls: TLS 1\.3 is not implemented yet$/m);
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
