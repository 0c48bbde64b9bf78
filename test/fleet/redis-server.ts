/**
 * A throwaway redis-server for the fleet tests: on a free port of 127.0.0.1, no persistence
 * (--save '' --appendonly no), killed and restarted on the same port at will. Test material only.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import type { TestContext } from "node:test";
import { Proc } from "../cli/peers.js";
import { freePort } from "../interop/peers.js";

let found: { bin: string; version: string } | null | undefined;

/**
 * The redis-server binary: $TYPETLS_REDIS_SERVER when set (only that one), else redis-server on
 * PATH, else Debian's /usr/bin/redis-server (PATH may lack it); null when none runs.
 */
function findRedis(): { bin: string; version: string } | null {
  if (found === undefined) {
    found = null;
    const explicit = process.env.TYPETLS_REDIS_SERVER;
    const candidates = explicit ? [explicit] : ["redis-server", "/usr/bin/redis-server"];
    for (const bin of candidates) {
      if (!bin) continue;
      const r = spawnSync(bin, ["--version"], { encoding: "utf8", timeout: 10_000 });
      if (!r.error && r.status === 0) {
        found = { bin, version: r.stdout.trim() };
        break;
      }
    }
  }
  return found;
}

/** redis-server's version line, or null when it is not installed. */
export function redisVersion(): string | null {
  return findRedis()?.version ?? null;
}

/**
 * For describe(..., { skip: skipWithoutRedis() }): the reason to skip when redis-server is missing
 * and not required; false otherwise (then requireRedis fails the first test when it is missing).
 */
export function skipWithoutRedis(): string | false {
  if (redisVersion() !== null || process.env.TYPETLS_REQUIRE_PEERS === "1") return false;
  return "SKIPPED: redis-server not installed (apt-get install redis-server)";
}

/**
 * True when redis-server is installed. Otherwise the test fails with TYPETLS_REQUIRE_PEERS=1 (CI)
 * and is skipped loudly without it: `if (!requireRedis(t)) return;`
 */
export function requireRedis(t: TestContext): boolean {
  if (redisVersion() !== null) return true;
  const msg = "redis-server not installed (apt-get install redis-server)";
  if (process.env.TYPETLS_REQUIRE_PEERS === "1")
    assert.fail(`${msg}; TYPETLS_REQUIRE_PEERS=1 makes this a failure`);
  process.stderr.write(`\n!!!!! SKIPPED "${t.name}": ${msg} !!!!!\n\n`);
  t.skip(`SKIPPED: ${msg}`);
  return false;
}

const live = new Set<RedisServer>();

export class RedisServer {
  proc: Proc | undefined;

  private constructor(readonly port: number) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** Starts one on a free port (or on `port`), waiting until it accepts connections. */
  static async start(port?: number): Promise<RedisServer> {
    for (let attempt = 0; ; attempt++) {
      const s = new RedisServer(port ?? (await freePort()));
      live.add(s);
      try {
        await s.run();
        return s;
      } catch (e) {
        await s.kill();
        live.delete(s);
        if (port !== undefined || attempt >= 3) throw e;
      }
    }
  }

  private async run(): Promise<void> {
    const args = ["--port", String(this.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"];
    const bin = findRedis()?.bin;
    if (!bin) throw new Error("redis-server not installed (apt-get install redis-server)");
    this.proc = new Proc(bin, args);
    await this.proc.waitFor(/Ready to accept connections/, 10_000);
  }

  get running(): boolean {
    return this.proc?.running ?? false;
  }

  /** Kills it at once (SIGKILL: a crash, not a shutdown). */
  async kill(): Promise<void> {
    const p = this.proc;
    if (!p?.running) return;
    p.child.kill("SIGKILL");
    await p.exited;
  }

  /** Starts it again on the same port (empty: nothing was saved). */
  async restart(): Promise<void> {
    await this.kill();
    await this.run();
  }

  /** Freezes it (SIGSTOP): connections stay open, nothing answers. */
  pause(): void {
    if (this.proc?.running) this.proc.child.kill("SIGSTOP");
  }

  resume(): void {
    if (this.proc?.running) this.proc.child.kill("SIGCONT");
  }

  async stop(): Promise<void> {
    this.resume();
    await this.kill();
    live.delete(this);
  }
}

/** Kills every redis-server these helpers started (for after() hooks). */
export async function stopAllRedis(): Promise<void> {
  await Promise.all([...live].map((s) => s.stop()));
}
