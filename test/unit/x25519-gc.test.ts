import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

/**
 * Regression: on Node 20, X25519 keys from generateKeyPairSync deadlock the process when a garbage
 * collection during a later use of the key (its JWK export) finalizes the key-generation job,
 * which waits for the key's own lock (found as a test run frozen at 0 % CPU; gdb: ExportJWK -> GC
 * -> ~KeyGenJob -> uv_mutex_lock). With a 1 MiB young generation the old code froze within a few
 * thousand shares. Our provider must survive many shares under the same GC pressure.
 */
test("X25519 key shares under heavy GC pressure do not deadlock the process", () => {
  const provider = fileURLToPath(new URL("../../src/crypto/node.js", import.meta.url));
  const script = `
    const { nodeCrypto } = await import(${JSON.stringify(provider)});
    const keep = [];
    for (let i = 0; i < 20000; i++) {
      const a = nodeCrypto.keyShare(0x001d);
      const b = nodeCrypto.respond(0x001d, a.publicKey);
      keep.push(Buffer.from(a.agree(b.share)).toString("hex") + "x".repeat(i % 200));
      if (keep.length > 500) keep.length = 0;
    }
    console.log("done");
  `;
  const r = spawnSync(process.execPath, ["--max-semi-space-size=1", "--input-type=module", "-e", script], {
    encoding: "utf8",
    timeout: 60_000,
  });
  assert.equal(r.signal, null, `the child was stopped (${r.signal}): it hung`);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /done/);
});
