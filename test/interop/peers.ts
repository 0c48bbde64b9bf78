/**
 * Interop peers as spawned processes: availability checks, ephemeral ports, start-and-wait for
 * spawned servers, output capture and cleanup. Test material only.
 */
import assert from "node:assert/strict";
import { type ChildProcessWithoutNullStreams, spawn, spawnSync } from "node:child_process";
import { EventEmitter } from "node:events";
import * as net from "node:net";
import type { TestContext } from "node:test";

export type PeerName = "openssl" | "gnutls-serv" | "gnutls-cli" | "curl";

const VERSION_ARGS: Record<PeerName, string[]> = {
  openssl: ["version"],
  "gnutls-serv": ["--version"],
  "gnutls-cli": ["--version"],
  curl: ["--version"],
};

const versions = new Map<PeerName, string | null>();

/** The peer's version line, or null when the binary is not installed (or does not run). */
export function peerVersion(name: PeerName): string | null {
  if (!versions.has(name)) {
    const r = spawnSync(name, VERSION_ARGS[name], { encoding: "utf8", timeout: 10_000 });
    versions.set(name, r.error || r.status !== 0 ? null : (r.stdout.split("\n")[0] ?? "").trim());
  }
  return versions.get(name) ?? null;
}

/**
 * True when the peer binary is there. Otherwise the test fails when TYPETLS_REQUIRE_PEERS=1 (CI,
 * where every peer is installed on purpose) and is skipped, loudly, when not. Never a silent pass:
 *   if (!requirePeer(t, "openssl")) return;
 */
export function requirePeer(t: TestContext, ...names: PeerName[]): boolean {
  const missing = names.filter((n) => peerVersion(n) === null);
  if (missing.length === 0) return true;
  const msg = `interop peer(s) not installed: ${missing.join(", ")} (apt-get install openssl gnutls-bin curl)`;
  if (process.env.TYPETLS_REQUIRE_PEERS === "1") {
    assert.fail(`${msg}; TYPETLS_REQUIRE_PEERS=1 makes this a failure`);
  }
  process.stderr.write(`\n!!!!! SKIPPED "${t.name}": ${msg} !!!!!\n\n`);
  t.skip(`SKIPPED: ${msg}`);
  return false;
}

const handedOut = new Set<number>();

/**
 * A free TCP port on 127.0.0.1 (bound to port 0, then released), never one this process handed
 * out before (the kernel may offer a just-released port again to concurrent callers).
 */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = await new Promise<number>((resolve, reject) => {
      const srv = net.createServer();
      srv.unref();
      srv.on("error", reject);
      srv.listen(0, "127.0.0.1", () => {
        const { port } = srv.address() as net.AddressInfo;
        srv.close(() => resolve(port));
      });
    });
    if (!handedOut.has(port)) {
      handedOut.add(port);
      return port;
    }
  }
}

export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
}

const live = new Set<PeerProcess>();

/** A spawned peer with its stdout/stderr captured (and printable in assertion messages). */
export class PeerProcess extends EventEmitter {
  readonly child: ChildProcessWithoutNullStreams;
  stdout = "";
  stderr = "";
  status: ExitStatus | null = null;
  readonly exited: Promise<ExitStatus>;
  private readonly started = Date.now();

  constructor(
    readonly cmd: string,
    readonly args: readonly string[],
  ) {
    super();
    this.child = spawn(cmd, args, { stdio: ["pipe", "pipe", "pipe"], env: { ...process.env, LC_ALL: "C" } });
    live.add(this);
    this.child.stdout.setEncoding("utf8");
    this.child.stderr.setEncoding("utf8");
    this.child.stdout.on("data", (d: string) => {
      this.stdout += d;
      this.emit("change");
    });
    this.child.stderr.on("data", (d: string) => {
      this.stderr += d;
      this.emit("change");
    });
    // A peer that exits early closes its stdin; writes then fail with EPIPE, which is not news.
    this.child.stdin.on("error", () => {});
    this.exited = new Promise((resolve) => {
      let spawnError: Error | undefined;
      this.child.on("error", (e) => {
        spawnError = e;
        this.stderr += `\n[spawn error: ${e.message}]`;
      });
      this.child.on("close", (code, signal) => {
        this.status = { code: spawnError && code === null ? 127 : code, signal };
        live.delete(this);
        this.emit("change");
        resolve(this.status);
      });
    });
  }

  /** stdout + stderr */
  get output(): string {
    return `${this.stdout}\n${this.stderr}`;
  }

  write(s: string): void {
    if (this.child.stdin.writable) this.child.stdin.write(s);
  }

  endInput(): void {
    if (this.child.stdin.writable) this.child.stdin.end();
  }

  /** Resolves once `cond(output)` holds; rejects on timeout (or when the process exits without it). */
  waitFor(cond: string | RegExp | ((out: string) => boolean), ms: number, what?: string): Promise<void> {
    const test =
      typeof cond === "function"
        ? cond
        : typeof cond === "string"
          ? (o: string) => o.includes(cond)
          : (o: string) => cond.test(o);
    const label = what ?? String(cond);
    return new Promise((resolve, reject) => {
      const check = (): void => {
        if (test(this.output)) {
          done();
          resolve();
        } else if (this.status) {
          done();
          reject(new Error(`${this.cmd} exited before ${label}\n${this.transcript()}`));
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`timeout (${ms} ms) waiting for ${label} from ${this.cmd}\n${this.transcript()}`));
      }, ms);
      const done = (): void => {
        clearTimeout(timer);
        this.off("change", check);
      };
      this.on("change", check);
      check();
    });
  }

  /** Waits for the process to end by itself; rejects after `ms`. */
  async waitExit(ms: number): Promise<ExitStatus> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`timeout (${ms} ms) waiting for ${this.cmd} to exit\n${this.transcript()}`)),
        ms,
      );
    });
    try {
      return await Promise.race([this.exited, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Waits up to `ms` for the process to exit by itself (never rejects). */
  async settle(ms: number): Promise<void> {
    if (this.status) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.exited, new Promise((r) => (timer = setTimeout(r, ms)))]);
    clearTimeout(timer);
  }

  /** SIGTERM (SIGKILL after a grace period) and wait until it is gone. Safe to call twice. */
  async kill(graceMs = 2000): Promise<ExitStatus> {
    if (this.status) return this.status;
    this.child.kill("SIGTERM");
    const timer = setTimeout(() => {
      if (!this.status) this.child.kill("SIGKILL");
    }, graceMs);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }

  /** The command line, exit status and everything it printed: for assertion messages. */
  transcript(): string {
    const st = this.status
      ? `exit code ${this.status.code}${this.status.signal ? ` signal ${this.status.signal}` : ""}`
      : `still running after ${Date.now() - this.started} ms`;
    return [
      `--- ${this.cmd} ${this.args.map(quote).join(" ")}  (${st})`,
      `--- stdout:\n${this.stdout.trimEnd()}`,
      `--- stderr:\n${this.stderr.trimEnd()}`,
      "---",
    ].join("\n");
  }
}

function quote(a: string): string {
  return /^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replaceAll("'", "'\\''")}'`;
}

export function spawnPeer(cmd: string, args: readonly string[]): PeerProcess {
  return new PeerProcess(cmd, args);
}

/** Kills every peer still running (for after() hooks; each test also kills its own in finally). */
export async function killAllPeers(): Promise<void> {
  await Promise.all([...live].map((p) => p.kill(500)));
}

/** Polls TCP connects to 127.0.0.1:port until one succeeds; fails early if `proc` exits. */
export async function waitForAccept(port: number, proc: PeerProcess, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (proc.status) throw new Error(`${proc.cmd} exited before accepting on port ${port}`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect({ host: "127.0.0.1", port });
      s.once("connect", () => {
        s.destroy();
        resolve(true);
      });
      s.once("error", () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nothing accepted on 127.0.0.1:${port} within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/**
 * How many TCP connections startServerPeer's readiness probe makes (exactly one: polling stops at the
 * first that connects). A peer told to exit after N connections (s_server -naccept) needs N + this.
 */
export const PROBE_CONNECTIONS = 1;

const ADDR_IN_USE =
  /address already in use|EADDRINUSE|bind\(\)|Could not bind|unable to bind|error while binding/i;

/**
 * What a server peer prints once it has bound its port: s_server "ACCEPT" (stdout, flushed),
 * gnutls-serv "Echo Server listening on IPv4 ... done" (stderr). Without it, a TCP probe could
 * reach another test's server that got the same free port first, while ours is failing to bind.
 */
function boundMessage(cmd: string, args: readonly string[]): RegExp | undefined {
  const all = [cmd, ...args];
  if (all.includes("s_server")) return /^ACCEPT$/m;
  if (all.includes("gnutls-serv")) return /listening on IPv[46] .*done/;
  return undefined;
}

/**
 * Spawns a server peer on a free port and waits until it says it is bound (for s_server and
 * gnutls-serv) and accepts TCP connections. Retries with a new port when the peer could not bind
 * (another process took the port in between).
 * Note: the readiness probe is one extra TCP connection that closes at once; servers log it as a
 * failed handshake before the real one.
 */
export async function startServerPeer(
  cmd: string,
  argsFor: (port: number) => string[],
  opts: { startTimeout?: number; attempts?: number } = {},
): Promise<{ proc: PeerProcess; port: number }> {
  const attempts = opts.attempts ?? 4;
  let last = "";
  for (let i = 0; i < attempts; i++) {
    const port = await freePort();
    const args = argsFor(port);
    const proc = spawnPeer(cmd, args);
    try {
      const bound = boundMessage(cmd, args);
      if (bound)
        await proc.waitFor(bound, opts.startTimeout ?? 10_000, "the peer's bound-and-listening message");
      await waitForAccept(port, proc, opts.startTimeout ?? 10_000);
      return { proc, port };
    } catch (e) {
      await proc.kill(500);
      last = `${(e as Error).message}\n${proc.transcript()}`;
      if (!ADDR_IN_USE.test(proc.output)) break;
    }
  }
  throw new Error(`could not start ${cmd}:\n${last}`);
}
