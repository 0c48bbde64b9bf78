/**
 * The benchmark's core: case definitions, one case run in a fresh pair of worker processes, and the
 * arithmetic that turns raw counts into rates. bench/run.ts is the command line around it;
 * test/unit/bench-smoke.test.ts runs it for a fraction of a second so it cannot rot.
 */
import { type ChildProcess, fork } from "node:child_process";
import { fileURLToPath } from "node:url";
import { DEMO_ROOT_CA, DEMO_SERVER_CERT, DEMO_SERVER_KEY } from "../src/cli/demo-certs.js";
import { standardPki } from "../test/fixtures/pki.js";
import { type CertMaterial, type Impl, type ResumeKind, SUITES, type SuiteKey } from "./impl.js";
import type {
  BulkParams,
  CaseParams,
  ClientHandshakeStats,
  FromWorker,
  HandshakeParams,
  IdleParams,
  MemorySample,
  ReceiverStats,
  SenderStats,
  ServerHandshakeStats,
  ToWorker,
} from "./protocol.js";

export type CertKind = "ecdsa" | "rsa";

export interface Material {
  ecdsa: CertMaterial;
  rsa: CertMaterial;
}

/** ECDSA P-256: the embedded demo chain; RSA-2048: the test PKI's chain (generated once, cached a day). */
export async function loadMaterial(): Promise<Material> {
  const pki = await standardPki();
  return {
    ecdsa: { chain: DEMO_SERVER_CERT, key: DEMO_SERVER_KEY, ca: DEMO_ROOT_CA },
    rsa: { chain: pki.rsa.chainPem, key: pki.rsa.leaf.keyPem, ca: pki.rsa.root.certPem },
  };
}

export interface HandshakeCase {
  kind: "handshake";
  cert: CertKind;
  /** The suite also fixes the protocol version (SUITES[suite].version). */
  suite: SuiteKey;
  concurrency: number;
  /** Full handshakes ("none"), or resumed ones of this kind. Default "none". */
  resume?: ResumeKind;
  /**
   * "node": one client (node:tls) for both servers, so that the rows compare the servers alone
   * (pairs NODE_CLIENT). Default: each implementation against itself (pairs SAME).
   */
  client?: Impl;
}

/** K idle connections held open against a server in its own process: its memory per connection. */
export interface IdleCase {
  kind: "idle";
  suite: SuiteKey;
  connections: number;
}

export interface BulkCase {
  kind: "bulk";
  suite: SuiteKey;
}

export interface Pair {
  client: Impl;
  server: Impl;
}

export interface HandshakeResult {
  /** Full connections per second at the client (connect, handshake, echo, close). */
  connPerSec: number;
  /** Server process CPU per completed handshake, µs. */
  serverCpuUs: number;
  /** Client process CPU per connection, µs. */
  clientCpuUs: number;
  p50Ms: number;
  p99Ms: number;
  client: ClientHandshakeStats;
  server: ServerHandshakeStats;
}

export interface BulkResult {
  /** Plaintext MB/s (10^6 bytes) at the receiver. */
  mbPerSec: number;
  /** Receiver (server) CPU per MB, µs. */
  receiverCpuUsPerMB: number;
  /** Sender (client) CPU per MB, µs. */
  senderCpuUsPerMB: number;
  receiver: ReceiverStats;
  sender: SenderStats;
}

export interface IdleResult {
  /** Server VmRSS growth per idle connection, bytes (after full GCs, against the warm baseline). */
  rssPerConnection: number;
  /** JS heap growth per idle connection, bytes (node:tls keeps most of its state outside it). */
  heapPerConnection: number;
  baseline: MemorySample;
  idle: MemorySample;
  connections: number;
}

export interface RunOptions {
  /** Extra node flags for both workers. */
  workerExecArgv?: readonly string[];
  /** Write V8 CPU profiles of the measured window to `${profilePrefix}.server.cpuprofile` and `.client.cpuprofile`. */
  profilePrefix?: string;
  /** Hard limit for one case, ms (the workers are killed after it). Default: generous for the params. */
  timeoutMs?: number;
}

// ---- workers ------------------------------------------------------------------------------------

const here = fileURLToPath(import.meta.url);
const runningTs = here.endsWith(".ts");
const workerPath = fileURLToPath(new URL(runningTs ? "./worker.ts" : "./worker.js", import.meta.url));

/** Node flags a worker needs to load its own source: tsx when we run from .ts, nothing when compiled. */
function baseExecArgv(): string[] {
  return runningTs ? ["--import", import.meta.resolve("tsx")] : [];
}

class Worker {
  private readonly child: ChildProcess;
  private readonly queue: FromWorker[] = [];
  private waiter: {
    type: FromWorker["type"];
    resolve: (m: FromWorker) => void;
    reject: (e: Error) => void;
  } | null = null;
  private exited = false;
  private failure: Error | null = null;
  private readonly exitedPromise: Promise<void>;
  /** Called for every message (before it is queued); return true to consume it. */
  onMessage: ((m: FromWorker) => boolean) | null = null;

  constructor(
    readonly name: string,
    execArgv: readonly string[],
  ) {
    this.child = fork(workerPath, [], {
      execArgv: [...baseExecArgv(), ...execArgv],
      stdio: ["ignore", "inherit", "inherit", "ipc"],
      serialization: "json",
    });
    this.child.on("message", (m: FromWorker) => this.deliver(m));
    this.exitedPromise = new Promise((resolve) => {
      this.child.once("exit", (code, signal) => {
        this.exited = true;
        if (!this.failure) this.failure = new Error(`${name} worker exited (code ${code}, signal ${signal})`);
        this.rejectWaiter();
        resolve();
      });
    });
    this.child.on("error", (e) => {
      this.failure ??= e;
      this.rejectWaiter();
    });
  }

  private rejectWaiter(): void {
    const w = this.waiter;
    this.waiter = null;
    w?.reject(this.failure ?? new Error(`${this.name} worker failed`));
  }

  private deliver(m: FromWorker): void {
    if (m.type === "failed") {
      this.failure = new Error(`${this.name} worker failed: ${m.message}`);
      this.rejectWaiter();
      return;
    }
    if (this.onMessage?.(m)) return;
    if (this.waiter && this.waiter.type === m.type) {
      const w = this.waiter;
      this.waiter = null;
      w.resolve(m);
      return;
    }
    this.queue.push(m);
  }

  send(m: ToWorker): void {
    if (!this.exited && this.child.connected) this.child.send(m);
  }

  next<T extends FromWorker["type"]>(type: T): Promise<Extract<FromWorker, { type: T }>> {
    const i = this.queue.findIndex((m) => m.type === type);
    if (i >= 0) {
      const [m] = this.queue.splice(i, 1);
      return Promise.resolve(m as Extract<FromWorker, { type: T }>);
    }
    if (this.failure) return Promise.reject(this.failure);
    if (this.waiter)
      return Promise.reject(new Error(`${this.name}: already waiting for ${this.waiter.type}`));
    return new Promise((resolve, reject) => {
      this.waiter = { type, resolve: (m) => resolve(m as Extract<FromWorker, { type: T }>), reject };
    });
  }

  /** Synchronous last resort (process exit). */
  kill(): void {
    if (!this.exited) this.child.kill("SIGKILL");
  }

  /** Lets the worker exit by itself (a --cpu-prof profile gets written), then makes sure. */
  async stop(graceMs = 2000): Promise<void> {
    if (this.exited) return;
    if (this.child.connected) this.child.disconnect();
    const timer = setTimeout(() => this.child.kill("SIGKILL"), graceMs);
    await this.exitedPromise;
    clearTimeout(timer);
  }
}

/** Children still running if the orchestrator is interrupted. */
const live = new Set<Worker>();
let exitHookInstalled = false;
function track(w: Worker): Worker {
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    const killAll = () => {
      for (const x of live) x.kill();
    };
    process.once("exit", killAll);
  }
  live.add(w);
  return w;
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no result after ${ms} ms`)), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

async function withPair<T>(
  pair: Pair,
  params: CaseParams,
  opts: RunOptions,
  body: (server: Worker, client: Worker) => Promise<T>,
): Promise<T> {
  const server = track(new Worker(`${pair.server} server`, opts.workerExecArgv ?? []));
  const client = track(new Worker(`${pair.client} client`, opts.workerExecArgv ?? []));
  const timeoutMs =
    opts.timeoutMs ??
    (params.kind === "handshake"
      ? params.warmupMs + params.durationMs + 30_000
      : params.kind === "idle"
        ? 60_000 + (params.connections + params.warmup) * 50 // >= 20 handshakes/s
        : 30_000 + (params.warmupBytes + params.measuredBytes) / 2_000); // >= 2 MB/s
  try {
    await withTimeout(Promise.all([server.next("alive"), client.next("alive")]), 30_000, "worker start");
    return await withTimeout(body(server, client), timeoutMs, `${pair.client} -> ${pair.server}`);
  } finally {
    await Promise.all([client.stop(), server.stop()]);
    live.delete(client);
    live.delete(server);
  }
}

// ---- cases --------------------------------------------------------------------------------------

export async function runHandshake(
  material: Material,
  c: HandshakeCase,
  pair: Pair,
  p: Omit<HandshakeParams, "kind" | "concurrency" | "resume">,
  opts: RunOptions = {},
): Promise<HandshakeResult> {
  const resume = c.resume ?? "none";
  const params: HandshakeParams = { kind: "handshake", concurrency: c.concurrency, resume, ...p };
  const cert = material[c.cert];
  return withPair(pair, params, opts, async (server, client) => {
    server.send({
      type: "server",
      impl: pair.server,
      suite: c.suite,
      cert,
      params,
      ...profiles(opts).server,
    });
    const { port } = await server.next("ready");
    client.onMessage = (m) => {
      if (m.type === "window-start") server.send({ type: "mark" });
      else if (m.type === "window-end") server.send({ type: "collect" });
      else return false;
      return true;
    };
    client.send({
      type: "client",
      impl: pair.client,
      suite: c.suite,
      ca: cert.ca,
      port,
      params,
      ...profiles(opts).client,
    });
    const [cm, sm] = await Promise.all([client.next("client-handshake"), server.next("server-handshake")]);
    const cs = cm.stats;
    const ss = sm.stats;
    if (cs.connections === 0) throw new Error(`no connection completed; client error: ${cs.firstError}`);
    expectNegotiated(cs, c.suite);
    expectResumption(cs, ss, resume, pair, c.concurrency);
    return {
      connPerSec: (cs.connections * 1000) / cs.wallMs,
      serverCpuUs: ss.handshakes > 0 ? ss.cpuUs / ss.handshakes : Number.NaN,
      clientCpuUs: cs.cpuUs / cs.connections,
      p50Ms: cs.p50Ms,
      p99Ms: cs.p99Ms,
      client: cs,
      server: ss,
    };
  });
}

export async function runBulk(
  material: Material,
  c: BulkCase,
  pair: Pair,
  p: Omit<BulkParams, "kind">,
  opts: RunOptions = {},
): Promise<BulkResult> {
  const params: BulkParams = { kind: "bulk", ...p };
  const cert = material.ecdsa;
  return withPair(pair, params, opts, async (server, client) => {
    server.send({
      type: "server",
      impl: pair.server,
      suite: c.suite,
      cert,
      params,
      ...profiles(opts).server,
    });
    const { port } = await server.next("ready");
    client.send({
      type: "client",
      impl: pair.client,
      suite: c.suite,
      ca: cert.ca,
      port,
      params,
      ...profiles(opts).client,
    });
    const [sm, rm] = await Promise.all([client.next("sender"), server.next("receiver")]);
    expectNegotiated(sm.stats, c.suite);
    const r = rm.stats;
    const s = sm.stats;
    return {
      mbPerSec: r.measuredBytes / 1e6 / (r.wallMs / 1000),
      receiverCpuUsPerMB: r.cpuUs / (r.measuredBytes / 1e6),
      senderCpuUsPerMB: s.cpuUs / (s.measuredBytes / 1e6),
      receiver: r,
      sender: s,
    };
  });
}

/**
 * Idle connections: the client warms the server up (connections opened and closed), the server
 * samples its memory after full GCs, the client opens `connections` and keeps them idle, the server
 * samples again. Both workers run with --expose-gc.
 */
export async function runIdle(
  material: Material,
  c: IdleCase,
  pair: Pair,
  p: { warmup: number; concurrency: number },
  opts: RunOptions = {},
): Promise<IdleResult> {
  const params: IdleParams = { kind: "idle", connections: c.connections, ...p };
  const cert = material.ecdsa;
  const withGc = { ...opts, workerExecArgv: [...(opts.workerExecArgv ?? []), "--expose-gc"] };
  return withPair(pair, params, withGc, async (server, client) => {
    server.send({ type: "server", impl: pair.server, suite: c.suite, cert, params });
    const { port } = await server.next("ready");
    client.send({ type: "client", impl: pair.client, suite: c.suite, ca: cert.ca, port, params });
    await client.next("idle-warm");
    server.send({ type: "sample" });
    const baseline = (await server.next("sample")).stats;
    client.send({ type: "open-idle" });
    const opened = await client.next("idle-open");
    if (opened.errors > 0 || opened.opened !== c.connections)
      throw new Error(`${opened.opened} of ${c.connections} idle connections opened; ${opened.firstError}`);
    expectNegotiated(opened, c.suite);
    server.send({ type: "sample" });
    const idle = (await server.next("sample")).stats;
    if (!idle.gc) throw new Error("the server worker has no global.gc");
    if (idle.connections !== c.connections)
      throw new Error(`the server holds ${idle.connections} connections, expected ${c.connections}`);
    client.send({ type: "close-idle" });
    await client.next("idle-closed");
    return {
      rssPerConnection: (idle.rssBytes - baseline.rssBytes) / c.connections,
      heapPerConnection: (idle.heapBytes - baseline.heapBytes) / c.connections,
      baseline,
      idle,
      connections: c.connections,
    };
  });
}

/** Guards against a silently different case (another suite or group would change the numbers). */
function profiles(opts: RunOptions): { server: { profile?: string }; client: { profile?: string } } {
  const p = opts.profilePrefix;
  if (p === undefined) return { server: {}, client: {} };
  return { server: { profile: `${p}.server.cpuprofile` }, client: { profile: `${p}.client.cpuprofile` } };
}

function expectNegotiated(got: { cipher: string; group: string }, suite: SuiteKey): void {
  const want = SUITES[suite].iana;
  if (got.cipher !== want) throw new Error(`negotiated ${got.cipher || "nothing"}, expected ${want}`);
  if (got.group !== "X25519") throw new Error(`negotiated group ${got.group || "none"}, expected X25519`);
}

/**
 * Guards against measuring the wrong thing: resumption cases must resume every connection but the
 * first of each client loop (which may fall inside a short window), full cases none.
 */
function expectResumption(
  cs: ClientHandshakeStats,
  ss: ServerHandshakeStats,
  resume: ResumeKind,
  pair: Pair,
  concurrency: number,
): void {
  if (resume === "none") {
    if (cs.resumed > 0 || ss.resumed > 0)
      throw new Error(`full-handshake case, but ${cs.resumed} client / ${ss.resumed} server resumptions`);
    return;
  }
  const full = cs.connections - cs.resumed;
  if (full > concurrency || ss.handshakes - ss.resumed > concurrency) {
    throw new Error(
      `${resume} case: only ${cs.resumed} of ${cs.connections} connections resumed at the client, ` +
        `${ss.resumed} of ${ss.handshakes} at the server`,
    );
  }
  if (pair.client === "typetls" && cs.resumed > 0 && cs.resumedWith !== resume)
    throw new Error(`${resume} case: TypeTLS resumed with ${cs.resumedWith}`);
}

// ---- plan ---------------------------------------------------------------------------------------

export interface PlanEntry {
  /** Stable id, e.g. "hs/ecdsa/c1" or "bulk/aes128". */
  id: string;
  spec: HandshakeCase | BulkCase | IdleCase;
  /** Which client→server pairs to run. */
  pairs: Pair[];
}

export const SAME: readonly Pair[] = [
  { client: "typetls", server: "typetls" },
  { client: "node", server: "node" },
];
/** One client, node:tls, against both servers: the server's cost alone. */
export const NODE_CLIENT: readonly Pair[] = [
  { client: "node", server: "typetls" },
  { client: "node", server: "node" },
];
export const MIXED: readonly Pair[] = [
  { client: "typetls", server: "node" },
  { client: "node", server: "typetls" },
];

export function defaultPlan(options: {
  concurrency: readonly number[];
  mixed: boolean;
  /** Idle connections for the memory case. */
  idle: number;
}): PlanEntry[] {
  const plan: PlanEntry[] = [];
  for (const cert of ["ecdsa", "rsa"] as const) {
    for (const concurrency of options.concurrency) {
      plan.push({
        id: `hs/${cert}/c${concurrency}`,
        spec: { kind: "handshake", cert, suite: cert === "ecdsa" ? "ecdsaAes128" : "rsaAes128", concurrency },
        pairs: [...SAME],
      });
    }
  }
  // TLS 1.3 full handshakes, then resumed ones of each kind: ECDSA only (a resumed handshake
  // signs nothing) and only at the lowest concurrency, to keep the default run short.
  const c = Math.min(...options.concurrency);
  plan.push({
    id: `hs13/ecdsa/c${c}`,
    spec: { kind: "handshake", cert: "ecdsa", suite: "tls13Aes128", concurrency: c, resume: "none" },
    pairs: [...SAME],
  });
  for (const [name, suite, resume] of [
    ["id12", "ecdsaAes128", "session_id"],
    ["ticket12", "ecdsaAes128", "ticket"],
    ["psk13", "tls13Aes128", "psk_dhe_ke"],
  ] as const) {
    plan.push({
      id: `resume/${name}/c${c}`,
      spec: { kind: "handshake", cert: "ecdsa", suite, concurrency: c, resume },
      pairs: [...SAME],
    });
  }
  // Connections per second of the servers alone: the same node:tls client for both, TLS 1.3 full
  // handshakes at the highest concurrency; and the memory an idle connection costs the server.
  const cmax = Math.max(...options.concurrency);
  plan.push({
    id: `cps/ecdsa13/c${cmax}`,
    spec: { kind: "handshake", cert: "ecdsa", suite: "tls13Aes128", concurrency: cmax, client: "node" },
    pairs: [...NODE_CLIENT],
  });
  plan.push({
    id: `idle/ecdsa13/k${options.idle}`,
    spec: { kind: "idle", suite: "tls13Aes128", connections: options.idle },
    pairs: [...NODE_CLIENT],
  });
  for (const [name, suite] of [
    ["aes128", "ecdsaAes128"],
    ["chacha20", "ecdsaChacha"],
  ] as const) {
    plan.push({
      id: `bulk/${name}`,
      spec: { kind: "bulk", suite },
      pairs: options.mixed ? [...SAME, ...MIXED] : [...SAME],
    });
  }
  return plan;
}

export function pairKey(p: Pair): string {
  return `${p.client}->${p.server}`;
}

export function median(xs: readonly number[]): number {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (s.length === 0) return Number.NaN;
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}
