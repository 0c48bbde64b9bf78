/**
 * No secret in what the CLI prints: `typetls server --trace` and `typetls client --trace` over
 * TLS 1.3 and 1.2, full and resumed handshakes and a failing one. The secrets are those of both
 * key log files plus the server's private key. Without --keylog (and no SSLKEYLOGFILE) no key log
 * line is printed.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { type StandardPki, standardPki } from "../fixtures/pki.js";
import { assertNoSecret, keylogSecrets, privateKeySecrets } from "../unit/secret-scan.js";
import { converse, killAll, runCli, startCliServer } from "./peers.js";

let pki: StandardPki;
let tmp: string;
before(async () => {
  pki = await standardPki();
  delete process.env.SSLKEYLOGFILE; // the spawned clients inherit the environment
  tmp = mkdtempSync(join(tmpdir(), "typetls-cli-secrets-"));
});
after(async () => {
  await killAll();
  rmSync(tmp, { recursive: true, force: true });
});

const REQUEST = "GET / HTTP/1.0\r\n\r\n";
const NO_ENV_KEYLOG = { SSLKEYLOGFILE: "" };
const LABELS = /CLIENT_RANDOM|TRAFFIC_SECRET|EXPORTER_SECRET|EARLY_TRAFFIC/;

describe("typetls --trace prints no secret", { timeout: 180_000 }, () => {
  it("server and client traces, TLS 1.3 and 1.2, resumed and failing, against both key logs", async () => {
    const serverLog = join(tmp, "server.keylog");
    const clientLog = join(tmp, "client.keylog");
    const { proc, port } = await startCliServer(
      [
        "--cert",
        pki.p256.files.chain,
        "--key",
        pki.p256.files.leafKey,
        "--www",
        "--trace",
        "--keylog",
        serverLog,
      ],
      NO_ENV_KEYLOG,
    );
    const outputs: string[] = [];
    const args = (extra: string[]): string[] => [
      `127.0.0.1:${port}`,
      "--servername",
      "localhost",
      "--trace",
      "--keylog",
      clientLog,
      ...extra,
    ];
    const client = async (extra: string[]) => {
      const r = await converse(args(extra), REQUEST);
      outputs.push(r.stdout, r.stderr);
      assert.equal(r.code, 0, r.proc.transcript());
      return r;
    };
    try {
      const ca = ["--ca", pki.p256.files.root];
      const s13 = join(tmp, "s13");
      const s12 = join(tmp, "s12");
      await client([...ca, "--sess-out", s13]);
      const resumed13 = await client([...ca, "--sess-in", s13]);
      assert.match(resumed13.stderr, /resumed: yes/);
      await client([...ca, "--max-version", "1.2", "--sess-out", s12]);
      const resumed12 = await client([...ca, "--max-version", "1.2", "--sess-in", s12]);
      assert.match(resumed12.stderr, /resumed: yes/);
      // Fails: the default roots do not know the test root.
      const bad = await runCli(["client", ...args([])], { input: REQUEST });
      outputs.push(bad.stdout, bad.stderr);
      assert.equal(bad.code, 1, bad.proc.transcript());
      assert.match(bad.stderr, /certificate verification failed/);
      // (The server names the failure "unprotected record of type 21 after keys were set": in
      // TLS 1.3 our client sends that unknown_ca alert in plaintext after the ServerHello.)
      await proc.waitFor(/connection #5 from \S+ failed: /, 10_000);
      await proc.kill();
      outputs.push(proc.stdout, proc.stderr);

      const lines = [serverLog, clientLog].flatMap((f) => readFileSync(f, "utf8").trim().split("\n"));
      assert.ok(
        lines.some((l) => l.startsWith("CLIENT_RANDOM ")),
        "TLS 1.2 lines",
      );
      assert.ok(
        lines.some((l) => l.startsWith("SERVER_TRAFFIC_SECRET_0 ")),
        "TLS 1.3 lines",
      );
      assert.match(proc.stderr, /typetls: trace: /, "the server traced");
      assertNoSecret(
        outputs,
        [...keylogSecrets(lines), ...privateKeySecrets(pki.p256.leaf.keyPem)],
        "CLI output",
      );
    } finally {
      await proc.kill();
    }
  });

  it("without --keylog and SSLKEYLOGFILE: no key log line printed", async () => {
    const { proc, port } = await startCliServer(
      ["--cert", pki.p256.files.chain, "--key", pki.p256.files.leafKey, "--www", "--trace"],
      NO_ENV_KEYLOG,
    );
    try {
      const r = await converse(
        [`127.0.0.1:${port}`, "--servername", "localhost", "--ca", pki.p256.files.root, "--trace"],
        REQUEST,
      );
      assert.equal(r.code, 0, r.proc.transcript());
      await proc.kill();
      for (const out of [r.stdout, r.stderr, proc.stdout, proc.stderr]) assert.doesNotMatch(out, LABELS);
      assert.match(r.stderr, /trace: /);
    } finally {
      await proc.kill();
    }
  });
});
