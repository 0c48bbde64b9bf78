#!/usr/bin/env node
// Runs the Jazzer.js fuzz targets (fuzz/targets/*.ts, compiled by tsc) over their corpora.
// Usage: node scripts/fuzz.mjs [options] [target...]       (default: every target)
//   --time=<seconds>  per target (default 600; --ci: 5)
//   --jobs=<n>        targets fuzzed at once (default 2)
//   --ci              short bounded run: fresh temporary work corpus, quiet unless something fails
//   --merge           after fuzzing, add the inputs that cover new code to fuzz/corpus/<target>
//   --outdir=<dir>    where tsc output is (default $TYPETLS_OUTDIR or dist)
//   --no-build        do not run tsc first
// New inputs go to fuzz/.work/<target>/ (fuzz/corpus/<target>/ is read only, unless --merge);
// crashes to fuzz/.work/crashes/<target>-crash-<sha1>. Exit status 1 if any target crashed.
import { spawn, spawnSync } from "node:child_process";
import {
  closeSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const root = new URL("..", import.meta.url).pathname;
const opts = { time: undefined, jobs: 2, ci: false, merge: false, build: true, outDir: undefined };
const wanted = [];
for (const a of process.argv.slice(2)) {
  const [k, v] = a.split("=", 2);
  if (k === "--time") opts.time = Number(v);
  else if (k === "--jobs") opts.jobs = Math.max(1, Number(v));
  else if (k === "--ci") opts.ci = true;
  else if (k === "--merge") opts.merge = true;
  else if (k === "--no-build") opts.build = false;
  else if (k === "--outdir") opts.outDir = v;
  else if (a.startsWith("-")) {
    console.error(`unknown option ${a}`);
    process.exit(2);
  } else wanted.push(a);
}
const time = opts.time ?? (opts.ci ? 5 : 600);
const outDir = resolve(root, opts.outDir ?? process.env.TYPETLS_OUTDIR ?? "dist");

if (opts.build) {
  const tsc = spawnSync(
    process.execPath,
    [join(root, "node_modules/typescript/bin/tsc"), "-p", root, "--outDir", outDir],
    {
      stdio: "inherit",
    },
  );
  if (tsc.status !== 0) process.exit(tsc.status ?? 1);
}

// The addon must load (scripts/fuzz-setup.mjs patches it on Debian 12); try the setup once.
const setup = join(root, "scripts/fuzz-setup.mjs");
if (spawnSync(process.execPath, [setup, "--check"], { stdio: "ignore" }).status !== 0) {
  const r = spawnSync(process.execPath, [setup], { stdio: "inherit" });
  if (r.status !== 0) {
    console.error("fuzz: the jazzer.js addon does not load; see the messages above");
    process.exit(3);
  }
}

const { TARGETS } = await import(join(outDir, "fuzz/targets.js"));
const targets = wanted.length > 0 ? wanted : [...TARGETS];
for (const t of targets) {
  if (!TARGETS.includes(t)) {
    console.error(`unknown target ${t} (known: ${TARGETS.join(", ")})`);
    process.exit(2);
  }
}

const jazzer = join(root, "node_modules/@jazzer.js/core/dist/cli.js");
const crashDir = join(root, "fuzz/.work/crashes");
mkdirSync(crashDir, { recursive: true });
const scratch = opts.ci ? mkdtempSync(join(tmpdir(), "typetls-fuzz-")) : undefined;

function fuzzOne(target) {
  const work = scratch ? join(scratch, target) : join(root, "fuzz/.work", target);
  const artifacts = scratch
    ? join(scratch, `${target}-artifacts`)
    : join(root, "fuzz/.work", `${target}-artifacts`);
  mkdirSync(work, { recursive: true });
  mkdirSync(artifacts, { recursive: true });
  const args = [
    jazzer,
    join(outDir, "fuzz/targets", `${target}.js`),
    work,
    join(root, "fuzz/corpus", target),
    "--sync",
    // Per input: a slow one is reported like a crash (a denial of service). Generous in CI.
    `--timeout=${opts.ci ? 10000 : 3000}`,
    "--",
    `-max_total_time=${time}`,
    "-max_len=16384",
    "-rss_limit_mb=2048",
    "-use_value_profile=1",
    `-artifact_prefix=${artifacts}/`,
  ];
  const started = Date.now();
  const logFile = join(artifacts, `fuzz-${process.pid}.log`);
  const before = new Set(readdirSync(artifacts));
  const fd = openSync(logFile, "w");
  if (!opts.ci) console.log(`fuzz ${target}: ${time} s, log in ${logFile}`);
  return new Promise((done) => {
    const child = spawn(process.execPath, args, { cwd: work, stdio: ["ignore", fd, fd] });
    child.on("close", (code, signal) => {
      closeSync(fd);
      const log = readFileSync(logFile, "utf8");
      const crashes = readdirSync(artifacts).filter(
        (f) => !before.has(f) && /^(crash|timeout|oom|leak)-/.test(f),
      );
      for (const f of crashes) copyFileSync(join(artifacts, f), join(crashDir, `${target}-${f}`));
      const runs = /Done (\d+) runs in (\d+) second/.exec(log);
      const covs = [...log.matchAll(/cov: (\d+) ft: (\d+)/g)];
      const cov = covs.length > 0 ? covs[covs.length - 1] : undefined;
      const ok = code === 0 && crashes.length === 0;
      const secs = ((Date.now() - started) / 1000).toFixed(0);
      const stats = `${runs ? `${runs[1]} runs` : "no run count"}, cov ${cov ? `${cov[1]} ft ${cov[2]}` : "?"}, ${secs} s`;
      console.log(`fuzz ${ok ? "ok  " : "FAIL"} ${target}: ${stats}${ok ? "" : ` (exit ${code ?? signal})`}`);
      if (!ok) {
        console.log(log.split("\n").slice(-60).join("\n"));
        for (const f of crashes) {
          const input = readFileSync(join(artifacts, f));
          console.log(`  ${f}: ${input.length} bytes, hex ${input.toString("hex").slice(0, 4000)}`);
          console.log(`  saved as ${join(crashDir, `${target}-${f}`)}`);
        }
      }
      if (opts.merge && ok) {
        const m = spawnSync(
          process.execPath,
          [jazzer, args[1], join(root, "fuzz/corpus", target), work, "--sync", "--", "-merge=1"],
          { cwd: work, encoding: "utf8" },
        );
        console.log(`fuzz merge ${target}: ${m.status === 0 ? "done" : `failed: ${m.stderr.slice(-500)}`}`);
      }
      done(ok);
    });
  });
}

const queue = [...targets];
const results = [];
await Promise.all(
  Array.from({ length: Math.min(opts.jobs, queue.length) }, async () => {
    for (let t = queue.shift(); t !== undefined; t = queue.shift()) results.push(await fuzzOne(t));
  }),
);
if (scratch && existsSync(scratch)) rmSync(scratch, { recursive: true, force: true });
const failed = results.filter((ok) => !ok).length;
console.log(`fuzz: ${targets.length - failed}/${targets.length} targets without a crash (${time} s each)`);
process.exit(failed === 0 ? 0 : 1);
