/**
 * A benchmark worker process (forked by bench/core.ts): the server or the client of one case.
 * Client and server live in different processes so that each side's CPU time is its own and one
 * implementation's work cannot hide in the other's event loop.
 */
import { once } from "node:events";
import { readFileSync, writeFileSync } from "node:fs";
import { Session } from "node:inspector/promises";
import { performance } from "node:perf_hooks";
import type { Duplex } from "node:stream";
import { setImmediate as yieldToLoop } from "node:timers/promises";
import {
  type ClientConn,
  type ClientFactory,
  type ClientSession,
  clientFactory,
  type ResumeKind,
  SUITES,
  startServer,
} from "./impl.js";
import type {
  BulkParams,
  ClientHandshakeStats,
  FromWorker,
  HandshakeParams,
  IdleParams,
  MemorySample,
  ServerHandshakeStats,
  ToWorker,
} from "./protocol.js";

function send(m: FromWorker): void {
  process.send?.(m);
}

/** CPU used by this process since `since` (all threads; user and system), µs. */
function cpuSince(since: NodeJS.CpuUsage): { cpuUs: number; sysUs: number } {
  const d = process.cpuUsage(since);
  return { cpuUs: d.user + d.system, sysUs: d.system };
}

function describe(e: unknown): string {
  if (e instanceof Error) {
    const code = (e as { code?: unknown }).code;
    return typeof code === "string" ? `${code}: ${e.message}` : e.message;
  }
  return String(e);
}

// ---- profiling of the measured window (--prof) --------------------------------------------------

let profilePath: string | undefined;
let profiler: Promise<Session> | null = null;

function profileStart(): void {
  if (profilePath === undefined || profiler) return;
  const session = new Session();
  session.connect();
  profiler = (async () => {
    await session.post("Profiler.enable");
    await session.post("Profiler.start");
    return session;
  })();
}

async function profileStop(): Promise<void> {
  const p = profiler;
  if (!p || profilePath === undefined) return;
  profiler = null;
  const session = await p;
  const { profile } = await session.post("Profiler.stop");
  writeFileSync(profilePath, JSON.stringify(profile));
  session.disconnect();
}

const CONNECTION_TIMEOUT_MS = 10_000;
const MAX_CLIENT_ERRORS = 200;

// ---- server -------------------------------------------------------------------------------------

let serverMark: { t: number; cpu: NodeJS.CpuUsage; handshakes: number; resumed: number } | null = null;
let serverHandshakes = 0;
let serverResumed = 0;
let serverErrors = 0;
let serverFirstError: string | undefined;

function serverError(e: unknown): void {
  serverErrors++;
  serverFirstError ??= describe(e);
}

async function runServer(msg: Extract<ToWorker, { type: "server" }>): Promise<void> {
  const suite = SUITES[msg.suite];
  const params = msg.params;
  profilePath = msg.profile;
  const onSecure =
    params.kind === "bulk" ? (s: Duplex) => bulkReceiver(s, params) : (s: Duplex) => echoHandler(s);
  const resume: ResumeKind = params.kind === "handshake" ? params.resume : "none";
  const server = await startServer(msg.impl, msg.cert, suite, resume, {
    onSecure(s, resumed) {
      serverHandshakes++;
      if (resumed) serverResumed++;
      s.on("error", serverError);
      onSecure(s);
    },
    onClientError: serverError,
  });
  send({ type: "ready", port: server.port });
}

let serverOpen = 0;

/** Handshake cases: echo the client's byte; the stream ends when the client's close_notify arrives. */
function echoHandler(s: Duplex): void {
  serverOpen++;
  s.once("close", () => serverOpen--);
  s.on("data", (d: Buffer) => s.write(d));
}

/** Idle cases: resident memory after full GCs (the worker runs with --expose-gc). */
async function memorySample(): Promise<MemorySample> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc) for (let i = 0; i < 3; i++) gc();
  await new Promise((r) => setTimeout(r, 200)); // V8 gives pages back in the background
  const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync("/proc/self/status", "utf8"));
  return {
    rssBytes: m ? Number(m[1]) * 1024 : process.memoryUsage().rss,
    heapBytes: process.memoryUsage().heapUsed,
    connections: serverOpen,
    gc: gc !== undefined,
  };
}

let receiverBusy = false;

/** Bulk cases: count bytes; the clock runs from `warmupBytes` to `warmupBytes + measuredBytes`. */
function bulkReceiver(s: Duplex, p: BulkParams): void {
  if (receiverBusy) {
    serverError(new Error("a second bulk connection"));
    s.destroy();
    return;
  }
  receiverBusy = true;
  const total = p.warmupBytes + p.measuredBytes;
  let received = 0;
  let start: { t: number; cpu: NodeJS.CpuUsage; bytes: number } | null = null;
  let done = false;
  function mark(bytes: number) {
    return { t: performance.now(), cpu: process.cpuUsage(), bytes };
  }
  s.on("data", (d: Buffer) => {
    received += d.length;
    if (start === null && received >= p.warmupBytes) {
      start = mark(received);
      profileStart();
    }
    if (!done && received >= total && start !== null) {
      done = true;
      const end = mark(received);
      const stats = {
        measuredBytes: end.bytes - start.bytes,
        totalBytes: received,
        wallMs: end.t - start.t,
        ...cpuSince(start.cpu),
      };
      profileStop().then(
        () => send({ type: "receiver", stats }),
        (e: unknown) => fail(e),
      );
    }
  });
}

async function onServerControl(msg: Extract<ToWorker, { type: "mark" | "collect" }>): Promise<void> {
  if (msg.type === "mark") {
    serverMark = {
      t: performance.now(),
      cpu: process.cpuUsage(),
      handshakes: serverHandshakes,
      resumed: serverResumed,
    };
    profileStart();
    return;
  }
  const m = serverMark ?? {
    t: performance.now(),
    cpu: process.cpuUsage(),
    handshakes: serverHandshakes,
    resumed: serverResumed,
  };
  const stats: ServerHandshakeStats = {
    handshakes: serverHandshakes - m.handshakes,
    resumed: serverResumed - m.resumed,
    ...cpuSince(m.cpu),
    wallMs: performance.now() - m.t,
    errors: serverErrors,
  };
  if (serverFirstError !== undefined) stats.firstError = serverFirstError;
  await profileStop();
  send({ type: "server-handshake", stats });
}

// ---- client -------------------------------------------------------------------------------------

const ONE_BYTE = Buffer.from("x");

interface Negotiated {
  cipher: string;
  group: string;
}

function negotiatedOf(c: ClientConn): Negotiated {
  return { cipher: c.cipher() ?? "", group: c.group() ?? "" };
}

/** Resolves once the handshake is complete; rejects on error or close. */
function secured(c: ClientConn): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = c.socket;
    const fail = (e: unknown) => {
      s.off("secureConnect", ok);
      reject(e instanceof Error ? e : new Error(String(e)));
    };
    const ok = () => {
      s.off("error", fail);
      s.off("close", closed);
      resolve();
    };
    const closed = () => fail(new Error("closed during the handshake"));
    s.once("secureConnect", ok);
    s.once("error", fail);
    s.once("close", closed);
  });
}

interface Finished {
  negotiated: Negotiated;
  resumedWith: string | undefined;
  /** The session this connection received, if any (TLS 1.3: the NewSessionTicket came before the echo). */
  session: ClientSession | undefined;
}

/**
 * One connection: TCP connect, handshake (offering `session`, if given), 1-byte echo, close_notify
 * both ways, TCP close.
 */
function oneConnection(
  factory: ClientFactory,
  port: number,
  session: ClientSession | undefined,
): Promise<Finished> {
  return new Promise((resolve, reject) => {
    const c = factory(port, session);
    const s = c.socket;
    let negotiated: Negotiated = { cipher: "", group: "" };
    let resumedWith: string | undefined;
    let echoed = false;
    let settled = false;
    const timer = setTimeout(() => s.destroy(new Error("connection timed out")), CONNECTION_TIMEOUT_MS);
    const finish = (err?: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (err) reject(err);
      else resolve({ negotiated, resumedWith, session: c.session() });
    };
    s.once("secureConnect", () => {
      negotiated = negotiatedOf(c);
      resumedWith = c.resumedWith();
      s.write(ONE_BYTE);
    });
    s.on("data", () => {
      if (echoed) return;
      echoed = true;
      s.end();
    });
    s.on("error", (e: Error) => finish(e));
    s.on("close", () => finish(echoed ? undefined : new Error("closed before the echo")));
  });
}

function percentile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return 0;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i]!;
}

async function runHandshakeClient(factory: ClientFactory, port: number, p: HandshakeParams): Promise<void> {
  let inWindow = false;
  let stopped = false;
  let win = { t0: 0, cpu0: process.cpuUsage(), t1: 0, cpu: { cpuUs: 0, sysUs: 0 } };
  const latencies: number[] = [];
  let errors = 0;
  let firstError: string | undefined;
  let negotiated: Negotiated = { cipher: "", group: "" };
  let resumed = 0;
  let lastResumedWith = "";

  // The window ends after durationMs, or later if fewer than minConnections completed in it.
  let timeUp = false;
  let endWindow = (): void => {};
  const windowOver = new Promise<void>((resolve) => {
    endWindow = () => {
      if (!inWindow || !timeUp || latencies.length < (p.minConnections ?? 0)) return;
      inWindow = false;
      stopped = true;
      win = { ...win, t1: performance.now(), cpu: cpuSince(win.cpu0) };
      send({ type: "window-end" });
      profileStop().then(resolve, resolve);
    };
    setTimeout(() => {
      win = { ...win, t0: performance.now(), cpu0: process.cpuUsage() };
      inWindow = true;
      profileStart();
      send({ type: "window-start" });
      setTimeout(() => {
        timeUp = true;
        endWindow();
      }, p.durationMs);
    }, p.warmupMs);
  });

  const loop = async () => {
    // Each loop offers the session its previous connection got (or kept, when no new one came).
    let session: ClientSession | undefined;
    while (!stopped) {
      const t0 = performance.now();
      try {
        const c = await oneConnection(factory, port, p.resume === "none" ? undefined : session);
        session = c.session ?? session;
        // The first connection of a loop is a full handshake: it names the group.
        if (negotiated.cipher === "") negotiated = c.negotiated;
        if (inWindow) {
          latencies.push(performance.now() - t0);
          if (c.resumedWith !== undefined) {
            resumed++;
            lastResumedWith = c.resumedWith;
          }
          endWindow();
        }
      } catch (e) {
        errors++;
        firstError ??= describe(e);
        if (errors > MAX_CLIENT_ERRORS) throw new Error(`too many connection errors; first: ${firstError}`);
        await new Promise((r) => setTimeout(r, 5));
      }
    }
  };
  await Promise.all([windowOver, ...Array.from({ length: p.concurrency }, loop)]);
  latencies.sort((a, b) => a - b);
  const stats: ClientHandshakeStats = {
    connections: latencies.length,
    resumed,
    resumedWith: lastResumedWith,
    wallMs: win.t1 - win.t0,
    ...win.cpu,
    p50Ms: percentile(latencies, 0.5),
    p99Ms: percentile(latencies, 0.99),
    errors,
    ...negotiated,
  };
  if (firstError !== undefined) stats.firstError = firstError;
  send({ type: "client-handshake", stats });
}

async function runBulkSender(factory: ClientFactory, port: number, p: BulkParams): Promise<void> {
  const c = factory(port);
  const s = c.socket;
  const closed = new Promise<void>((resolve) => s.once("close", () => resolve()));
  s.on("error", () => {}); // surfaced by the awaits below
  await secured(c);
  const negotiated = negotiatedOf(c);
  s.resume(); // nothing is expected back but close_notify
  const chunk = Buffer.alloc(p.writeSize, 0xa5);
  const total = p.warmupBytes + p.measuredBytes;
  let sent = 0;
  let start: { t: number; cpu: NodeJS.CpuUsage; bytes: number } | null = null;
  let lastYield = performance.now();
  while (sent < total) {
    if (start === null && sent >= p.warmupBytes) {
      start = { t: performance.now(), cpu: process.cpuUsage(), bytes: sent };
      profileStart();
    }
    const n = Math.min(p.writeSize, total - sent);
    const ok = s.write(n === chunk.length ? chunk : chunk.subarray(0, n));
    sent += n;
    if (!ok) {
      await once(s, "drain");
      lastYield = performance.now();
    } else if (performance.now() - lastYield > 2) {
      // Without this, a writer whose write() keeps returning true never lets I/O run (PERF-ANCHORS §4).
      await yieldToLoop();
      lastYield = performance.now();
    }
  }
  s.end();
  await once(s, "finish");
  const m = start ?? { t: performance.now(), cpu: process.cpuUsage(), bytes: sent };
  const stats = {
    measuredBytes: sent - m.bytes,
    totalBytes: sent,
    wallMs: performance.now() - m.t,
    ...cpuSince(m.cpu),
    ...negotiated,
  };
  await profileStop();
  send({ type: "sender", stats });
  await closed;
}

/** Runs `total` jobs, `inFlight` at a time. */
async function pool(total: number, inFlight: number, job: () => Promise<void>): Promise<void> {
  let started = 0;
  const worker = async (): Promise<void> => {
    while (started < total) {
      started++;
      await job();
    }
  };
  await Promise.all(Array.from({ length: Math.min(inFlight, total) }, worker));
}

let idleStep: ((m: ToWorker["type"]) => void) | null = null;
function nextStep(want: ToWorker["type"]): Promise<void> {
  return new Promise((resolve) => {
    idleStep = (t) => {
      if (t === want) resolve();
    };
  });
}

/** One connection that handshakes and echoes a byte, then stays open; resolves with it. */
function idleConnection(factory: ClientFactory, port: number): Promise<ClientConn> {
  return new Promise((resolve, reject) => {
    const c = factory(port);
    const s = c.socket;
    const timer = setTimeout(() => s.destroy(new Error("connection timed out")), CONNECTION_TIMEOUT_MS);
    const fail = (e: Error) => {
      clearTimeout(timer);
      reject(e);
    };
    s.once("secureConnect", () => s.write(ONE_BYTE));
    s.once("data", () => {
      clearTimeout(timer);
      s.off("error", fail);
      s.on("error", () => {});
      resolve(c);
    });
    s.once("error", fail);
  });
}

/**
 * Idle cases: warm-up connections (opened and closed), then, on cue, `connections` open at once
 * and idle until told to close them.
 */
async function runIdleClient(factory: ClientFactory, port: number, p: IdleParams): Promise<void> {
  await pool(p.warmup, p.concurrency, async () => {
    await oneConnection(factory, port, undefined);
  });
  const open = nextStep("open-idle");
  send({ type: "idle-warm" });
  await open;
  const held: ClientConn[] = [];
  let errors = 0;
  let firstError: string | undefined;
  await pool(p.connections, p.concurrency, async () => {
    try {
      held.push(await idleConnection(factory, port));
    } catch (e) {
      errors++;
      firstError ??= describe(e);
    }
  });
  const negotiated = held[0] ? negotiatedOf(held[0]) : { cipher: "", group: "" };
  const close = nextStep("close-idle");
  send({
    type: "idle-open",
    opened: held.length,
    errors,
    ...(firstError !== undefined ? { firstError } : {}),
    ...negotiated,
  });
  await close;
  await Promise.all(
    held.map(
      (c) =>
        new Promise<void>((resolve) => {
          c.socket.once("close", () => resolve());
          c.socket.end();
          c.socket.resume();
        }),
    ),
  );
  send({ type: "idle-closed" });
}

async function runClient(msg: Extract<ToWorker, { type: "client" }>): Promise<void> {
  profilePath = msg.profile;
  const resume: ResumeKind = msg.params.kind === "handshake" ? msg.params.resume : "none";
  const factory = clientFactory(msg.impl, msg.ca, SUITES[msg.suite], resume);
  if (msg.params.kind === "handshake") await runHandshakeClient(factory, msg.port, msg.params);
  else if (msg.params.kind === "idle") await runIdleClient(factory, msg.port, msg.params);
  else await runBulkSender(factory, msg.port, msg.params);
}

// ---- main ---------------------------------------------------------------------------------------

function fail(e: unknown): void {
  send({ type: "failed", message: e instanceof Error ? (e.stack ?? e.message) : String(e) });
}

process.on("message", (msg: ToWorker) => {
  switch (msg.type) {
    case "server":
      runServer(msg).catch(fail);
      return;
    case "client":
      runClient(msg).catch(fail);
      return;
    case "mark":
    case "collect":
      onServerControl(msg).catch(fail);
      return;
    case "sample":
      memorySample().then((stats) => send({ type: "sample", stats }), fail);
      return;
    case "open-idle":
    case "close-idle":
      idleStep?.(msg.type);
      return;
  }
});
// The orchestrator went away (finished, crashed or was interrupted): so do we.
process.on("disconnect", () => process.exit(0));
send({ type: "alive" });
