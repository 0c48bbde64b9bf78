/** Runs testssl.sh 3.0.x against 127.0.0.1:PORT and reads its flat JSON findings. */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { spawnPeer } from "../cli/peers.js";

export interface Finding {
  id: string;
  severity: string;
  finding: string;
  cve?: string;
}

export interface TestsslRun {
  findings: Finding[];
  /** stdout, the human-readable report */
  text: string;
  code: number | null;
  seconds: number;
}

/**
 * The findings of testssl's vulnerabilities section (-U) in 3.0.x. Every one listed in
 * REQUIRED_VULN_IDS must be present, so a run that silently skipped the section fails.
 */
export const VULN_IDS = [
  "heartbleed",
  "CCS",
  "ticketbleed",
  "ROBOT",
  "secure_renego",
  "secure_client_renego",
  "CRIME_TLS",
  "BREACH",
  "POODLE_SSL",
  "fallback_SCSV",
  "SWEET32",
  "FREAK",
  "DROWN",
  "DROWN_hint",
  "LOGJAM",
  "LOGJAM-common_primes",
  "BEAST",
  "BEAST_CBC_TLS1",
  "BEAST_CBC_SSL3",
  "LUCKY13",
  "winshock",
  "RC4",
];
export const REQUIRED_VULN_IDS = [
  "heartbleed",
  "CCS",
  "ROBOT",
  "secure_renego",
  "secure_client_renego",
  "CRIME_TLS",
  "POODLE_SSL",
  "fallback_SCSV",
  "SWEET32",
  "FREAK",
  "DROWN",
  "LOGJAM",
  "BEAST",
  "LUCKY13",
  "RC4",
];

/** An id without testssl's per-certificate suffix (" <cert#1>"). */
export function baseId(id: string): string {
  return id.replace(/\s*<cert#\d+>$/, "");
}

/**
 * One testssl.sh run. `checks` empty = the full default run. `--nodns none` (no DNS at all; it
 * excludes `--ip one`, which an IP target does not need), `--add-ca` so the test root is trusted.
 */
export async function runTestssl(
  port: number,
  opts: { dir: string; tag: string; caFile: string; checks: readonly string[]; timeoutMs: number },
): Promise<TestsslRun> {
  const jsonFile = join(opts.dir, `testssl-${opts.tag}.json`);
  const args = [
    "--quiet",
    "--color",
    "0",
    "--warnings",
    "off",
    "--nodns",
    "none",
    "--add-ca",
    opts.caFile,
    "--jsonfile",
    jsonFile,
    ...opts.checks,
    `127.0.0.1:${port}`,
  ];
  const started = Date.now();
  const p = spawnPeer("testssl", args);
  p.end();
  const code = await p.waitExit(opts.timeoutMs);
  const seconds = Math.round((Date.now() - started) / 1000);
  // 242..255 are testssl's fatal errors (command line, openssl binary, connect ...); lower codes
  // are a sum of per-check results and say nothing by themselves.
  if (code === null || code >= 242) throw new Error(`testssl failed (exit ${code})\n${p.transcript()}`);
  const findings = JSON.parse(readFileSync(jsonFile, "utf8")) as Finding[];
  if (!Array.isArray(findings) || findings.length === 0) throw new Error(`no findings\n${p.transcript()}`);
  return { findings: findings.map(fixSweet32Id), text: p.stdout, code, seconds };
}

/**
 * testssl 3.0.8's run_sweet32 never sets its jsonID on a TLS 1.3-only server and so files its
 * result under the previous check's id (CRIME_TLS). Its CVE numbers say which check it is.
 */
function fixSweet32Id(f: Finding): Finding {
  if (baseId(f.id) === "CRIME_TLS" && f.cve?.includes("CVE-2016-2183")) return { ...f, id: "SWEET32" };
  return f;
}
