#!/usr/bin/env node
// Makes @jazzer.js/core 4.0.0 load on Debian 12 (glibc 2.36, GCC 12's libstdc++). Its prebuilt
// fuzzer-linux-x64.node asks for GLIBC_2.38 and GLIBCXX_3.4.32 for three symbols only
// (__isoc23_strtol, __isoc23_strtoul, std::ios_base_library_init). This script:
//   1. keeps a pristine copy (<file>.orig) and always patches from it (idempotent);
//   2. compiles scripts/fuzz/glibc238shim.c (those three symbols) into libglibc238shim.so beside it;
//   3. patchelf: drops the version of those three symbols, adds the shim as NEEDED, then (in a
//      separate call: one call doing both corrupted the file) sets RUNPATH to $ORIGIN;
//   4. marks the GLIBC_2.38 and GLIBCXX_3.4.32 version requirements weak (scripts/fuzz/elf-weak-verneed.mjs);
//   5. checks that the result loads, in a child process, before putting it in place.
// Nothing is downloaded or built from fetched code: it edits the registry-shipped binary locally.
// Usage: node scripts/fuzz-setup.mjs [--postinstall] [--check]
//   --postinstall  never fails (npm ci must not): prints a loud warning instead
//   --check        only reports whether jazzer's addon loads (exit 0 = yes)
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { copyFileSync, existsSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { markVersionsWeak } from "./fuzz/elf-weak-verneed.mjs";

const root = new URL("..", import.meta.url).pathname;
const prebuilds = join(root, "node_modules/@jazzer.js/fuzzer/prebuilds");
const target = join(prebuilds, "fuzzer-linux-x64.node");
const pristine = `${target}.orig`;
const marker = `${target}.typetls-patch.json`;
const shimSource = join(root, "scripts/fuzz/glibc238shim.c");
const shimName = "libglibc238shim.so";
const symbols = ["__isoc23_strtol", "__isoc23_strtoul", "_ZSt21ios_base_library_initv"];
const versions = ["GLIBC_2.38", "GLIBCXX_3.4.32"];

const args = new Set(process.argv.slice(2));
const postinstall = args.has("--postinstall");

function fail(message) {
  rmSync(`${target}.tmp`, { force: true });
  if (postinstall) {
    const bar = "!".repeat(78);
    console.warn(
      `${bar}\n!! typetls fuzz setup: ${message}\n!! Fuzzing (npm run fuzz, test/fuzz) will not work until`,
    );
    console.warn(`!! this is fixed and \`npm run fuzz:setup\` is run (needs patchelf and gcc).\n${bar}`);
    process.exit(0);
  }
  console.error(`fuzz setup: ${message}`);
  process.exit(1);
}

/** Loads a .node file in a fresh process; returns null when it loads, else the error text. */
function loadError(file) {
  const r = spawnSync(process.execPath, ["-e", "process.dlopen({ exports: {} }, process.argv[1])", file], {
    encoding: "utf8",
  });
  return r.status === 0 ? null : (r.stderr.split("\n").find((l) => l.startsWith("Error")) ?? r.stderr).trim();
}

const sha256 = (file) => createHash("sha256").update(readFileSync(file)).digest("hex");

function run(cmd, cmdArgs) {
  const r = spawnSync(cmd, cmdArgs, { encoding: "utf8" });
  if (r.error !== undefined) fail(`${cmd} not runnable (${r.error.message})`);
  if (r.status !== 0) fail(`${cmd} ${cmdArgs.join(" ")} failed: ${r.stderr.trim()}`);
}

if (process.platform !== "linux" || process.arch !== "x64") {
  console.log(`fuzz setup: nothing to do on ${process.platform}-${process.arch}`);
  process.exit(0);
}
if (!existsSync(target)) {
  // Production installs (no devDependencies) have no jazzer: nothing to patch.
  if (postinstall) process.exit(0);
  fail(`${target} is missing: run npm ci (jazzer is a devDependency)`);
}

if (args.has("--check")) {
  const err = loadError(target);
  if (err !== null) fail(`the jazzer.js addon does not load: ${err}`);
  console.log("fuzz setup: the jazzer.js addon loads");
  process.exit(0);
}

// Already patched by us (same bytes as recorded) and loading: done.
if (existsSync(marker)) {
  const m = JSON.parse(readFileSync(marker, "utf8"));
  if (m.patched === sha256(target) && existsSync(pristine) && loadError(target) === null) {
    console.log("fuzz setup: jazzer.js addon already patched and loads");
    process.exit(0);
  }
}
// Anything else in place is a fresh copy from npm: it becomes the pristine one.
if (!existsSync(marker) || JSON.parse(readFileSync(marker, "utf8")).patched !== sha256(target)) {
  copyFileSync(target, pristine);
}
rmSync(marker, { force: true });

const pristineError = loadError(pristine);
if (pristineError === null) {
  copyFileSync(pristine, target);
  console.log("fuzz setup: the jazzer.js addon loads as shipped; no patch needed");
  process.exit(0);
}

run("gcc", ["-shared", "-fPIC", "-O2", "-o", join(prebuilds, shimName), shimSource]);
const work = `${target}.tmp`;
copyFileSync(pristine, work);
for (const sym of symbols) run("patchelf", ["--clear-symbol-version", sym, work]);
run("patchelf", ["--add-needed", shimName, work]);
run("patchelf", ["--set-rpath", "$ORIGIN", work]);
const elf = readFileSync(work);
const weak = markVersionsWeak(elf, versions);
if (weak.length === 0) fail(`none of ${versions.join(", ")} found in the version requirements`);
writeFileSync(work, elf);

const patchedError = loadError(work);
if (patchedError !== null) {
  rmSync(work, { force: true });
  fail(`the patched addon still does not load: ${patchedError}`);
}
renameSync(work, target);
writeFileSync(
  marker,
  `${JSON.stringify({ pristine: sha256(pristine), patched: sha256(target) }, null, 2)}\n`,
);
console.log(`fuzz setup: patched ${target} (weak: ${weak.join(", ")}); it loads`);
