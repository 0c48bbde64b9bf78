/**
 * `npm run bench`: TypeTLS against node:tls, same machine, same run, over 127.0.0.1.
 * Options (also as environment variables; see bench/README.md):
 *   --duration=S        handshake measuring window per case, seconds (BENCH_DURATION, default 2)
 *   --warmup=S          handshake warm-up before the window, seconds (BENCH_WARMUP, default 2)
 *   --concurrency=1,8   concurrent client loops for the handshake cases (BENCH_CONCURRENCY)
 *   --bulk-mib=N        MiB timed at the receiver per bulk case (BENCH_BULK_MIB, default 128)
 *   --bulk-warmup-mib=N MiB sent before the receiver starts its clock (BENCH_BULK_WARMUP_MIB, default 32)
 *   --trials=N          repeat every case N times, interleaved, and report medians (BENCH_TRIALS, default 1)
 *   --only=a,b          run only cases whose id contains one of these (hs/ecdsa, hs/rsa/c8, hs13, resume, resume/psk13, bulk/chacha20, ...)
 *   --no-mixed          skip the mixed bulk pairs (TypeTLS→node, node→TypeTLS)
 *   --idle=K            idle connections held open for the server memory case (BENCH_IDLE, default 1000)
 *   --json              print the results as JSON instead of the table
 *   --prof=DIR          write a V8 CPU profile of each side's measured window to DIR (inflates the numbers)
 */

import { mkdirSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { join, resolve } from "node:path";
import {
  type BulkResult,
  defaultPlan,
  type HandshakeResult,
  type IdleResult,
  loadMaterial,
  pairKey,
  type RunOptions,
  runBulk,
  runHandshake,
  runIdle,
} from "./core.js";
import { type Collected, type Outcome, renderTable, summary } from "./report.js";

interface Options {
  durationMs: number;
  warmupMs: number;
  concurrency: number[];
  bulkMiB: number;
  bulkWarmupMiB: number;
  idle: number;
  trials: number;
  only: string[];
  mixed: boolean;
  json: boolean;
  profDir: string | undefined;
}

const USAGE = `usage: npm run bench -- [--duration=S] [--warmup=S] [--concurrency=1,8] [--bulk-mib=N]
       [--bulk-warmup-mib=N] [--idle=K] [--trials=N] [--only=hs/ecdsa,bulk/aes128] [--no-mixed] [--json] [--prof=DIR]`;

function parseArgs(argv: readonly string[]): Options {
  const flags = new Map<string, string>();
  for (const a of argv) {
    if (a === "--help" || a === "-h") {
      console.log(USAGE);
      process.exit(0);
    }
    const m = /^--([a-z-]+)(?:=(.*))?$/.exec(a);
    if (!m) throw new Error(`unknown argument ${a}\n${USAGE}`);
    flags.set(m[1]!, m[2] ?? "true");
  }
  const known = new Set([
    "duration",
    "warmup",
    "concurrency",
    "bulk-mib",
    "bulk-warmup-mib",
    "idle",
    "trials",
    "only",
    "no-mixed",
    "json",
    "prof",
  ]);
  for (const k of flags.keys()) if (!known.has(k)) throw new Error(`unknown option --${k}\n${USAGE}`);
  const env = process.env;
  const num = (flag: string, envName: string, dflt: number, min: number): number => {
    const raw = flags.get(flag) ?? env[envName];
    if (raw === undefined || raw === "") return dflt;
    const v = Number(raw);
    if (!Number.isFinite(v) || v < min) throw new Error(`--${flag} (${envName}) must be a number >= ${min}`);
    return v;
  };
  const concurrency = (flags.get("concurrency") ?? env.BENCH_CONCURRENCY ?? "1,8")
    .split(",")
    .map((s) => Number(s.trim()));
  if (concurrency.some((c) => !Number.isInteger(c) || c < 1)) throw new Error("--concurrency: integers >= 1");
  const only = (flags.get("only") ?? env.BENCH_ONLY ?? "").split(",").filter((s) => s.length > 0);
  return {
    durationMs: Math.round(num("duration", "BENCH_DURATION", 2, 0.05) * 1000),
    warmupMs: Math.round(num("warmup", "BENCH_WARMUP", 2, 0) * 1000),
    concurrency,
    bulkMiB: num("bulk-mib", "BENCH_BULK_MIB", 128, 0.0625),
    bulkWarmupMiB: num("bulk-warmup-mib", "BENCH_BULK_WARMUP_MIB", 32, 0),
    idle: Math.round(num("idle", "BENCH_IDLE", 1000, 1)),
    trials: Math.round(num("trials", "BENCH_TRIALS", 1, 1)),
    only,
    mixed: !flags.has("no-mixed"),
    json: flags.has("json"),
    profDir: flags.has("prof")
      ? resolve(flags.get("prof") === "true" ? "bench-profiles" : flags.get("prof")!)
      : undefined,
  };
}

const WRITE_SIZE = 16384;
/** Idle case: connections opened and closed before the baseline, and handshakes in flight. */
const IDLE_CLIENT = { warmup: 200, concurrency: 16 };

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  const log = (s: string) => process.stderr.write(`${s}\n`);
  let plan = defaultPlan({ concurrency: o.concurrency, mixed: o.mixed, idle: o.idle });
  if (o.only.length > 0) plan = plan.filter((e) => o.only.some((s) => e.id.includes(s)));
  if (plan.length === 0) throw new Error("--only matched no case");
  const material = await loadMaterial();
  if (o.profDir) mkdirSync(o.profDir, { recursive: true });
  const bulk = {
    writeSize: WRITE_SIZE,
    warmupBytes: Math.round((o.bulkWarmupMiB * 1048576) / WRITE_SIZE) * WRITE_SIZE,
    measuredBytes: Math.max(1, Math.round((o.bulkMiB * 1048576) / WRITE_SIZE)) * WRITE_SIZE,
  };
  const load0 = loadavg()[0]!;
  const started = Date.now();
  const collected: Collected[] = plan.map((entry) => ({ entry, runs: new Map() }));

  for (let trial = 0; trial < o.trials; trial++) {
    for (const c of collected) {
      // Alternate which implementation goes first, so slow drift of the machine cancels out.
      const pairs = trial % 2 === 0 ? c.entry.pairs : [...c.entry.pairs].reverse();
      for (const pair of pairs) {
        const label = `${c.entry.id} ${pairKey(pair)}${o.trials > 1 ? ` (trial ${trial + 1}/${o.trials})` : ""}`;
        let outcome: Outcome<HandshakeResult | BulkResult | IdleResult>;
        const runOpts: RunOptions = {};
        if (o.profDir) {
          const name = `${c.entry.id.replaceAll("/", "-")}.${pair.client}-${pair.server}.t${trial + 1}`;
          runOpts.profilePrefix = join(o.profDir, name);
        }
        try {
          const spec = c.entry.spec;
          const hsParams = { warmupMs: o.warmupMs, durationMs: o.durationMs };
          const value =
            spec.kind === "handshake"
              ? await runHandshake(material, spec, pair, hsParams, runOpts)
              : spec.kind === "idle"
                ? await runIdle(material, spec, pair, IDLE_CLIENT)
                : await runBulk(material, spec, pair, bulk, runOpts);
          outcome = { ok: true, value };
          log(`  ${label}: ${summary(value)}`);
        } catch (e) {
          outcome = { ok: false, error: e instanceof Error ? e.message : String(e) };
          log(`  ${label}: FAILED ${outcome.error}`);
        }
        const k = pairKey(pair);
        const list = c.runs.get(k) ?? [];
        list.push(outcome);
        c.runs.set(k, list);
      }
    }
  }
  const elapsed = (Date.now() - started) / 1000;
  const machine = {
    node: process.version,
    openssl: process.versions.openssl,
    cpu: cpus()[0]?.model ?? "unknown",
    cores: cpus().length,
    loadAverageAtStart: load0,
  };
  if (o.json) {
    const out = {
      machine,
      options: { ...o, bulk },
      elapsedSeconds: elapsed,
      cases: collected.map((c) => ({
        id: c.entry.id,
        spec: c.entry.spec,
        runs: Object.fromEntries(c.runs),
      })),
    };
    console.log(JSON.stringify(out, null, 2));
    return;
  }
  console.log(renderTable(collected));
  console.log();
  console.log(
    `node ${machine.node}, OpenSSL ${machine.openssl}, ${machine.cores} × ${machine.cpu}, load average ${load0.toFixed(2)} at start`,
  );
  console.log(
    `handshakes: ${o.warmupMs / 1000} s warm-up + ${o.durationMs / 1000} s per case; bulk: ${fmtMiB(bulk.measuredBytes)} timed after ${fmtMiB(bulk.warmupBytes)}, ${WRITE_SIZE}-byte writes; ` +
      `${o.trials} trial${o.trials > 1 ? "s (medians)" : ""}; ${elapsed.toFixed(0)} s in all`,
  );
  console.log(
    "ratio = TypeTLS / node: above 1 is better for rates (conn/s, MB/s), worse for CPU, latency and memory.",
  );
}

function fmtMiB(bytes: number): string {
  return `${+(bytes / 1048576).toFixed(2)} MiB`;
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exitCode = 1;
});
