#!/usr/bin/env node
// Builds with tsc, then runs node:test over the compiled test files.
// Usage: node scripts/test.mjs [unit|interop|<substring>...]
// Node 20's --test neither globs nor picks up .ts files, so the file list is made here.
import { spawn, spawnSync } from "node:child_process";
import { readdirSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";

const root = new URL("..", import.meta.url).pathname;
// TYPETLS_OUTDIR lets several people build and test at once without sharing dist/.
const outDir = join(root, process.env.TYPETLS_OUTDIR ?? "dist");
rmSync(join(outDir, "test"), { recursive: true, force: true }); // no stale compiled tests
const tsc = spawnSync(
  process.execPath,
  [join(root, "node_modules/typescript/bin/tsc"), "-p", root, "--outDir", outDir],
  {
    stdio: "inherit",
  },
);
// TYPETLS_ALLOW_TYPE_ERRORS=1 runs the tests even when tsc reports errors (it still emits), for work in progress.
if (tsc.status !== 0 && process.env.TYPETLS_ALLOW_TYPE_ERRORS !== "1") process.exit(tsc.status ?? 1);

function walk(dir) {
  let out = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out = out.concat(walk(p));
    else if (p.endsWith(".test.js")) out.push(p);
  }
  return out;
}
const filters = process.argv.slice(2);
let files = walk(join(outDir, "test")).sort();
if (filters.length > 0) files = files.filter((f) => filters.some((s) => f.includes(s)));
if (files.length === 0) {
  console.error("no test files matched", filters);
  process.exit(1);
}
const concurrency = process.env.TYPETLS_TEST_CONCURRENCY ?? "2";
const nodeArgs = ["--test", `--test-concurrency=${concurrency}`, ...files];

// As root (CI), the tests run in a private network namespace that has only loopback: test
// traffic cannot leave the machine, and peers that bind every interface (gnutls-serv) stay private.
// TYPETLS_NETNS=0 turns this off.
function netnsWorks() {
  if (process.env.TYPETLS_NETNS === "0" || process.getuid?.() !== 0) return false;
  const probe = spawnSync("unshare", ["--net", "sh", "-c", "ip link set lo up"], { stdio: "ignore" });
  return probe.status === 0;
}
// A watchdog: a run that goes past TYPETLS_TEST_DEADLINE minutes (default 15; CI allows 20 in all)
// is stopped, after printing which test files were still running and where their processes wait,
// so that a hang is a failure with a name rather than a stalled job.
const deadlineMinutes = Number(process.env.TYPETLS_TEST_DEADLINE ?? "15");

function describeStuck() {
  const ps = spawnSync("ps", ["-eo", "pid,stat,etimes,time,wchan:24,args", "--sort=start_time"], {
    encoding: "utf8",
  });
  const lines = (ps.stdout ?? "").split("\n").filter((l) => l.includes("/test/") || l.includes("typetls"));
  console.error(`\ntest run still going after ${deadlineMinutes} minutes; processes:\n${lines.join("\n")}`);
}

let cmd = process.execPath;
let args = nodeArgs;
let env = process.env;
if (netnsWorks()) {
  const quoted = [process.execPath, ...nodeArgs].map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(" ");
  cmd = "unshare";
  args = ["--net", "sh", "-c", `ip link set lo up && exec ${quoted}`];
  env = { ...process.env, TYPETLS_IN_NETNS: "1" };
}
// Its own process group, so that the watchdog stops the test files' processes too.
const child = spawn(cmd, args, { stdio: "inherit", env, detached: true });
const watchdog = setTimeout(() => {
  describeStuck();
  try {
    process.kill(-child.pid, "SIGKILL");
  } catch {
    child.kill("SIGKILL");
  }
}, deadlineMinutes * 60_000);
for (const sig of ["SIGINT", "SIGTERM"]) {
  process.on(sig, () => {
    try {
      process.kill(-child.pid, sig);
    } catch {}
    process.exit(1);
  });
}
child.on("exit", (code, signal) => {
  clearTimeout(watchdog);
  process.exit(code ?? (signal ? 1 : 0));
});
