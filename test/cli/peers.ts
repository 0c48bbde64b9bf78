/**
 * Helpers for the CLI tests: external peer binaries (openssl, curl, gnutls-cli) and spawned
 * processes (our compiled CLI or a peer) with captured output, bounded waits and cleanup.
 */
import assert from "node:assert/strict";
import { type ChildProcessWithoutNullStreams, spawn, spawnSync } from "node:child_process";
import type { TestContext } from "node:test";
import { fileURLToPath } from "node:url";

/** The compiled CLI entry (dist*\/src/cli/run.js), found relative to this compiled file. */
export const CLI = fileURLToPath(new URL("../../src/cli/run.js", import.meta.url));

const VERSION_ARGS: Record<string, string[]> = { openssl: ["version"] };
const found = new Map<string, boolean>();

export function peerInstalled(bin: string): boolean {
  let ok = found.get(bin);
  if (ok === undefined) {
    const r = spawnSync(bin, VERSION_ARGS[bin] ?? ["--version"], { stdio: "ignore", timeout: 10_000 });
    ok = !r.error && r.status === 0;
    found.set(bin, ok);
  }
  return ok;
}

/**
 * True when every binary is installed. Otherwise: with TYPETLS_REQUIRE_PEERS=1 the test fails;
 * without it, the test is skipped with a loud message. Use: `if (!requirePeer(t, "curl")) return;`
 */
export function requirePeer(t: TestContext, ...bins: string[]): boolean {
  const missing = bins.filter((b) => !peerInstalled(b));
  if (missing.length === 0) return true;
  const msg = `${missing.join(", ")} not installed`;
  if (process.env.TYPETLS_REQUIRE_PEERS === "1") assert.fail(`${msg} (TYPETLS_REQUIRE_PEERS=1 requires it)`);
  process.stderr.write(`\n!!!!! SKIPPED "${t.name}": ${msg} !!!!!\n\n`);
  t.skip(msg);
  return false;
}

const live = new Set<Proc>();

/** A spawned process with stdout/stderr collected. */
export class Proc {
  readonly child: ChildProcessWithoutNullStreams;
  stdout = "";
  stderr = "";
  code: number | null | undefined = undefined;
  signal: NodeJS.Signals | null = null;
  readonly exited: Promise<number | null>;
  private waiters: Array<() => void> = [];

  constructor(
    readonly cmd: string,
    readonly args: readonly string[],
    env: NodeJS.ProcessEnv = {},
  ) {
    this.child = spawn(cmd, args, { stdio: "pipe", env: { ...process.env, LC_ALL: "C", ...env } });
    live.add(this);
    this.child.stdout.setEncoding("utf8");
    this.child.stderr.setEncoding("utf8");
    this.child.stdout.on("data", (d: string) => {
      this.stdout += d;
      this.changed();
    });
    this.child.stderr.on("data", (d: string) => {
      this.stderr += d;
      this.changed();
    });
    this.child.stdin.on("error", () => {}); // EPIPE when the process has already exited
    this.exited = new Promise((resolve) => {
      this.child.on("error", (e) => {
        this.stderr += `\n[spawn error: ${e.message}]`;
      });
      this.child.on("close", (code, signal) => {
        this.code = code;
        this.signal = signal;
        live.delete(this);
        this.changed();
        resolve(code);
      });
    });
  }

  private changed(): void {
    for (const w of [...this.waiters]) w();
  }

  get running(): boolean {
    return this.code === undefined;
  }

  write(s: string | Uint8Array): void {
    if (this.child.stdin.writable) this.child.stdin.write(s);
  }

  end(s?: string): void {
    if (this.child.stdin.writable) this.child.stdin.end(s);
  }

  /** Waits until `re` matches stdout+stderr; rejects on timeout or exit. Returns the match. */
  waitFor(re: RegExp, ms = 10_000): Promise<RegExpExecArray> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        const m = re.exec(`${this.stdout}\n${this.stderr}`);
        if (m) finish(() => resolve(m));
        else if (!this.running) finish(() => reject(new Error(`exited before ${re}\n${this.transcript()}`)));
      };
      const timer = setTimeout(
        () => finish(() => reject(new Error(`timeout (${ms} ms) waiting for ${re}\n${this.transcript()}`))),
        ms,
      );
      const finish = (f: () => void): void => {
        clearTimeout(timer);
        this.waiters = this.waiters.filter((w) => w !== check);
        f();
      };
      this.waiters.push(check);
      check();
    });
  }

  /** Waits for the process to exit by itself; rejects (and kills it) after `ms`. */
  async waitExit(ms = 10_000): Promise<number | null> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        reject(new Error(`timeout (${ms} ms) waiting for exit\n${this.transcript()}`));
        void this.kill();
      }, ms);
    });
    try {
      return await Promise.race([this.exited, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** SIGTERM, then SIGKILL after `graceMs`; resolves with the exit code (null if killed by a signal). */
  async kill(graceMs = 2000): Promise<number | null> {
    if (!this.running) return this.code ?? null;
    this.child.kill("SIGTERM");
    const t = setTimeout(() => {
      if (this.running) this.child.kill("SIGKILL");
    }, graceMs);
    try {
      return await this.exited;
    } finally {
      clearTimeout(t);
    }
  }

  transcript(): string {
    const st = this.running ? "running" : `exit ${this.code}${this.signal ? ` (${this.signal})` : ""}`;
    return `--- ${this.cmd} ${this.args.join(" ")} [${st}]\n--- stdout:\n${this.stdout}\n--- stderr:\n${this.stderr}---`;
  }
}

/** Spawns the CLI with `args` (stdin stays open until end()). */
export function cli(args: readonly string[], env: NodeJS.ProcessEnv = {}): Proc {
  return new Proc(process.execPath, [CLI, ...args], env);
}

/** Runs the CLI to completion: exit code and output. */
export async function runCli(
  args: readonly string[],
  opts: { input?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<{ code: number | null; stdout: string; stderr: string; proc: Proc }> {
  const p = cli(args, opts.env);
  p.end(opts.input);
  const code = await p.waitExit(opts.timeoutMs ?? 15_000);
  return { code, stdout: p.stdout, stderr: p.stderr, proc: p };
}

/**
 * Runs `typetls client ARGS` against a server that answers: sends `input` once the handshake is
 * done and ends standard input only when stdout matches `until` (without `until`, waits for the
 * server to close, as a --www server does). So the data and the client's close_notify never reach
 * the server together: the CLI server is not half-open, so it answers a close_notify at once and an
 * echo or a --www page written after that would be lost.
 */
export async function converse(
  args: readonly string[],
  input: string,
  until?: RegExp,
  timeoutMs = 15_000,
): Promise<{ code: number | null; stdout: string; stderr: string; proc: Proc }> {
  const p = cli(["client", ...args]);
  try {
    await p.waitFor(/^typetls: connected /m, timeoutMs);
    p.write(input);
    if (until) {
      await p.waitFor(until, timeoutMs);
      p.end();
    }
    const code = await p.waitExit(timeoutMs);
    return { code, stdout: p.stdout, stderr: p.stderr, proc: p };
  } finally {
    await p.kill(500);
  }
}

/** Starts `typetls server ... --port 0` and waits for its "listening on" line. */
export async function startCliServer(
  args: readonly string[],
  env: NodeJS.ProcessEnv = {},
): Promise<{ proc: Proc; port: number; host: string }> {
  const proc = cli(["server", "--port", "0", ...args], env);
  try {
    const m = await proc.waitFor(/^listening on (\S+):(\d+)$/m, 10_000);
    return { proc, host: m[1]!, port: Number(m[2]) };
  } catch (e) {
    await proc.kill(500);
    throw e;
  }
}

export function spawnPeer(cmd: string, args: readonly string[]): Proc {
  return new Proc(cmd, args);
}

/** Kills everything still running (for after() hooks). */
export async function killAll(): Promise<void> {
  await Promise.all([...live].map((p) => p.kill(500)));
}

/** `openssl s_server` on 127.0.0.1 (an ephemeral port) with a chain from the test PKI. */
export async function startOpensslServer(
  files: { leaf: string; intermediate: string; leafKey: string },
  extra: readonly string[],
): Promise<{ proc: Proc; port: number }> {
  const proc = spawnPeer("openssl", [
    "s_server",
    "-accept",
    "127.0.0.1:0",
    "-cert",
    files.leaf,
    "-cert_chain",
    files.intermediate,
    "-key",
    files.leafKey,
    ...extra,
  ]);
  try {
    const m = await proc.waitFor(/ACCEPT 127\.0\.0\.1:(\d+)/, 10_000);
    return { proc, port: Number(m[1]) };
  } catch (e) {
    await proc.kill(500);
    throw e;
  }
}
