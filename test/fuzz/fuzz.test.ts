import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { SCENARIOS, setupFor } from "../../fuzz/support/scenarios.js";
import { TARGETS } from "../../fuzz/targets.js";

/**
 * The fuzz targets in CI: (1) every corpus input goes through its target in-process (a crash once
 * found and added to the corpus stays fixed); (2) the recorded flights still complete their
 * handshakes, so fuzzing starts deep; (3) Jazzer.js fuzzes every target for a few seconds
 * (scripts/fuzz.mjs --ci) and any crash fails the test. `npm run fuzz` is the long run.
 */

// Compiled to <outDir>/test/fuzz/fuzz.test.js; the repository is the nearest package.json above.
const outDir = fileURLToPath(new URL("../..", import.meta.url));
let root = outDir;
while (!existsSync(join(root, "package.json"))) root = dirname(root);
const corpus = (t: string) => join(root, "fuzz/corpus", t);
const SECONDS = Number(process.env.TYPETLS_FUZZ_SECONDS ?? 5);

for (const target of TARGETS) {
  test(`fuzz corpus replays without a crash: ${target}`, async () => {
    const { fuzz } = (await import(join(outDir, "fuzz/targets", `${target}.js`))) as {
      fuzz: (d: Buffer) => void;
    };
    const files = readdirSync(corpus(target));
    assert.ok(files.length > 0, `fuzz/corpus/${target} is empty`);
    for (const f of files) {
      try {
        fuzz(readFileSync(join(corpus(target), f)));
      } catch (e) {
        assert.fail(`fuzz/corpus/${target}/${f}: ${e instanceof Error ? e.stack : String(e)}`);
      }
    }
  });
}

test("recorded flights in the corpus still complete their handshakes (deterministic replay)", () => {
  const seen = new Set<string>();
  for (const side of ["client-flight", "server-flight"] as const) {
    for (const f of readdirSync(corpus(side))) {
      const d = readFileSync(join(corpus(side), f));
      const setup = setupFor(d[0]!);
      const conn = side === "client-flight" ? setup.client() : setup.server();
      if (side === "client-flight") conn.takeOutgoing();
      const input = d.subarray(1);
      if (d[0] === 0xff) for (let i = 0; i < input.length; i++) conn.receive(input.subarray(i, i + 1));
      else conn.receive(input);
      assert.equal(conn.error, null, `${side}/${f} (${setup.scenario.name})`);
      assert.ok(conn.handshakeComplete, `${side}/${f} (${setup.scenario.name}) did not complete`);
      assert.equal(conn.info?.resumed, setup.scenario.resume === true, `${side}/${f}: resumed`);
      seen.add(`${side}:${setup.scenario.name}`);
    }
  }
  assert.equal(seen.size, 2 * SCENARIOS.length, "a recorded flight for every scenario, both sides");
});

test(`jazzer.js: every fuzz target runs ${SECONDS} s without a crash`, { timeout: 600_000 }, (t) => {
  const check = spawnSync(process.execPath, [join(root, "scripts/fuzz-setup.mjs"), "--check"], {
    encoding: "utf8",
  });
  if (check.status !== 0) {
    const why = `jazzer.js does not load (${(check.stderr || check.stdout).trim()}); run \`npm run fuzz:setup\` (needs patchelf and gcc)`;
    if (process.env.TYPETLS_REQUIRE_PEERS === "1") assert.fail(why);
    console.warn(`\n!!! SKIPPING the coverage-guided fuzzing: ${why}\n`);
    t.skip(why);
    return;
  }
  const r = spawnSync(
    process.execPath,
    [
      join(root, "scripts/fuzz.mjs"),
      "--ci",
      "--no-build",
      `--outdir=${outDir}`,
      `--time=${SECONDS}`,
      "--jobs=2",
    ],
    { encoding: "utf8", timeout: 540_000 },
  );
  process.stdout.write(r.stdout);
  assert.equal(r.status, 0, `fuzzing found a crash or failed:\n${r.stdout}\n${r.stderr}`);
  assert.match(r.stdout, new RegExp(`${TARGETS.length}/${TARGETS.length} targets without a crash`));
});
