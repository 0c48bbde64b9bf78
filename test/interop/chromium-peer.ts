/**
 * Headless Chromium as a real TLS client peer: `chromium --dump-dom URL` in a fresh profile, with
 * our test certificate trusted by its SPKI hash (no --ignore-certificate-errors) and the test host
 * name mapped to 127.0.0.1. Chromium runs in its own process group, which is killed (by that id)
 * when the run ends or times out, and its temporary profile is removed.
 */
import { spawn } from "node:child_process";
import { createHash, X509Certificate } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const CHROMIUM = "chromium";

/** base64(SHA-256(DER SubjectPublicKeyInfo)) of a PEM certificate: the --ignore-certificate-errors-spki-list form. */
export function spkiHash(certPem: string): string {
  const spki = new X509Certificate(certPem).publicKey.export({ type: "spki", format: "der" });
  return createHash("sha256").update(spki).digest("base64");
}

export interface DumpDomOptions {
  url: string;
  /** SPKI hashes (base64 SHA-256) whose certificates Chromium accepts. */
  spki: readonly string[];
  /** Host names mapped to 127.0.0.1 (the port of the URL is kept). */
  mapHosts: readonly string[];
  /** default 30 s; Chromium is killed after that */
  timeoutMs?: number;
  /** --v=1 logging (very verbose; for debugging a failing handshake) */
  verbose?: boolean;
}

export interface DumpDomResult {
  /** exit code, or null when killed */
  code: number | null;
  /** the serialized DOM Chromium printed */
  dom: string;
  stderr: string;
  timedOut: boolean;
  ms: number;
}

/** The flags needed for headless Chromium as root on a machine without network (see node.md). */
export function chromiumArgs(o: DumpDomOptions, userDataDir: string): string[] {
  return [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-default-apps",
    "--metrics-recording-only",
    `--user-data-dir=${userDataDir}`,
    `--ignore-certificate-errors-spki-list=${o.spki.join(",")}`,
    `--host-resolver-rules=${o.mapHosts.map((h) => `MAP ${h} 127.0.0.1`).join(", ")}`,
    "--enable-logging=stderr",
    o.verbose ? "--v=1" : "--v=0",
    "--dump-dom",
    o.url,
  ];
}

function killGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, signal); // the group Chromium leads (spawned detached): browser + its helpers
  } catch {
    // ESRCH: already gone
  }
}

/** Runs `chromium --dump-dom` once; always reaps its process group and removes its profile. */
export async function dumpDom(o: DumpDomOptions): Promise<DumpDomResult> {
  const userDataDir = mkdtempSync(join(tmpdir(), "typetls-chromium-"));
  const started = Date.now();
  const child = spawn(CHROMIUM, chromiumArgs(o, userDataDir), {
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
    env: { ...process.env, LC_ALL: "C" },
  });
  let dom = "";
  let stderr = "";
  let timedOut = false;
  child.stdout.setEncoding("utf8");
  child.stderr.setEncoding("utf8");
  child.stdout.on("data", (d: string) => {
    dom += d;
  });
  child.stderr.on("data", (d: string) => {
    stderr += d;
  });
  let killTimer: NodeJS.Timeout | undefined;
  const timer = setTimeout(() => {
    timedOut = true;
    killGroup(child.pid, "SIGTERM");
    killTimer = setTimeout(() => killGroup(child.pid, "SIGKILL"), 2000);
  }, o.timeoutMs ?? 30_000);
  try {
    const code = await new Promise<number | null>((resolve) => {
      child.on("error", (e) => {
        stderr += `\n[spawn error: ${e.message}]`;
        resolve(null);
      });
      child.on("close", (c) => resolve(c));
    });
    return { code, dom, stderr, timedOut, ms: Date.now() - started };
  } finally {
    clearTimeout(timer);
    clearTimeout(killTimer);
    killGroup(child.pid, "SIGKILL"); // helpers that outlived the browser process
    rmSync(userDataDir, { recursive: true, force: true, maxRetries: 3, retryDelay: 100 });
  }
}

function unescapeHtml(s: string): string {
  return s
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&#(\d+);/g, (_, n: string) => String.fromCodePoint(Number(n)))
    .replace(/&amp;/g, "&");
}

/**
 * The `label: value` lines of our --www page out of Chromium's DOM: a text/plain answer is shown
 * as `<pre ...>text</pre>`. Returns undefined when the DOM has no such page (an error page, say).
 */
export function parseSummaryPage(dom: string): Map<string, string> | undefined {
  const m = /<pre[^>]*>([\s\S]*?)<\/pre>/i.exec(dom);
  if (!m) return undefined;
  const fields = new Map<string, string>();
  for (const line of unescapeHtml(m[1] ?? "").split("\n")) {
    const i = line.indexOf(": ");
    if (i > 0) fields.set(line.slice(0, i), line.slice(i + 2));
  }
  return fields.has("protocol") ? fields : undefined;
}

/** The last `max` characters (for failure messages). */
export function tail(s: string, max = 6000): string {
  return s.length <= max ? s : `[... ${s.length - max} chars cut]\n${s.slice(-max)}`;
}
