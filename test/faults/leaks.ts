/**
 * Helpers for the fault tests: a tracker of live timers and TCP handles (async_hooks sees unref'd
 * timers too, which process.getActiveResourcesInfo() does not), listener counts, and the check
 * that a server or client is back where it started after a fault.
 */
import assert from "node:assert/strict";
import { createHook } from "node:async_hooks";
import type { EventEmitter } from "node:events";
import { once } from "node:events";
import type * as net from "node:net";
import { DEMO_ROOT_CA } from "../../src/cli/demo-certs.js";
import { ClientConfig } from "../../src/config.js";
import { ClientConnection } from "../../src/connection.js";

/** The async resource types a leak would show up as. */
const TRACKED = new Set(["Timeout", "TCPWRAP", "TCPSERVERWRAP", "TCPCONNECTWRAP"]);
const live = new Map<number, string>();
/** The helpers' own timers (sleep): a fired timer's destroy hook comes a little later. */
const ignored = new Set<number>();
/** TYPETLS_LEAK_STACKS=1: where each live resource was made, printed when a leak is found. */
const stacks = process.env.TYPETLS_LEAK_STACKS === "1" ? new Map<number, string>() : null;
createHook({
  init(id, type) {
    if (!TRACKED.has(type)) return;
    live.set(id, type);
    if (id > newestId) newestId = id;
    stacks?.set(id, `${type} ${new Error().stack}`);
  },
  destroy(id) {
    live.delete(id);
    ignored.delete(id);
    stacks?.delete(id);
  },
}).enable();

export type Counts = Record<string, number>;

/** Async ids grow: everything made after a mark has a larger id. */
let newestId = 0;

/** Live timers (ref'd or not) and TCP handles made after `mark`, by type. */
export function liveResources(mark = 0): Counts {
  const c: Counts = { Timeout: 0, TCPWRAP: 0, TCPSERVERWRAP: 0, TCPCONNECTWRAP: 0 };
  for (const [id, t] of live) if (id > mark && !ignored.has(id)) c[t] = (c[t] ?? 0) + 1;
  return c;
}

/** Listener count of every event an emitter has listeners for. */
export function listenerCounts(e: EventEmitter): Counts {
  const c: Counts = {};
  for (const name of e.eventNames()) c[String(name)] = e.listenerCount(name);
  return c;
}

export interface Watched {
  /** TLSServer (connections), or anything else whose listeners must not grow. */
  emitters: EventEmitter[];
  /** net.Server: its own connection count must come back to 0. */
  netServer?: net.Server;
  /** TypeTLS server: its own tracking of live sockets. */
  connections?: () => number;
}

export interface Baseline {
  /** Resources with a larger async id were made after the baseline. */
  mark: number;
  listeners: Counts[];
}

export function baseline(w: Watched): Baseline {
  return { mark: newestId, listeners: w.emitters.map(listenerCounts) };
}

function netConnections(s: net.Server | undefined): Promise<number> {
  if (!s) return Promise.resolve(0);
  return new Promise((resolve, reject) => s.getConnections((err, n) => (err ? reject(err) : resolve(n))));
}

/**
 * Waits (up to `ms`) until nothing made since the baseline is left (connections, timers, TCP
 * handles), then checks it: connection counts 0, no such timer or handle, the same listeners.
 */
export async function expectNoLeak(w: Watched, base: Baseline, what: string, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  const state = async () => ({
    connections: w.connections?.() ?? 0,
    netConnections: await netConnections(w.netServer),
    resources: liveResources(base.mark),
    listeners: w.emitters.map(listenerCounts),
  });
  const none = liveResources(Number.POSITIVE_INFINITY);
  const want = { connections: 0, netConnections: 0, resources: none, listeners: base.listeners };
  let now = await state();
  while (Date.now() < deadline) {
    try {
      assert.deepEqual(now, want);
      return;
    } catch {
      await sleep(25);
      now = await state();
    }
  }
  if (stacks)
    for (const [id, st] of stacks)
      if (id > base.mark && !ignored.has(id)) process.stderr.write(`live: ${st}\n\n`);
  assert.deepEqual(now, want, `${what}: something was left behind after ${ms} ms`);
}

/** Resolves on 'close' whatever came before (events.once would reject on 'error'). */
export function closed(e: EventEmitter): Promise<void> {
  return new Promise((resolve) => e.once("close", () => resolve()));
}

/** A timer the leak check does not count (its id is the timer's async id). */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => {
    const t = setTimeout(r, ms);
    ignored.add(t[Symbol.toPrimitive]());
  });
}

/** A real TypeTLS ClientHello (TLS 1.2 and 1.3 offered), for raw sockets to send as they like. */
export function clientHelloBytes(): Buffer {
  const conn = new ClientConnection(new ClientConfig({ ca: DEMO_ROOT_CA }), { serverName: "localhost" });
  conn.start();
  return Buffer.from(conn.takeOutgoing());
}

export async function listenLocal(server: { listen(port: number, host: string): unknown } & EventEmitter) {
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
}

/**
 * A TCP proxy in front of `backendPort`, for an independent server (node:tls) to fail at a chosen
 * point: `onBackendData` sees each chunk the server sends, after it was passed on to the client,
 * with the client-facing socket (to reset) and the chunk's index.
 */
export async function faultProxy(
  backendPort: number,
  onBackendData: (client: net.Socket, index: number) => void,
): Promise<{ server: net.Server; port: number }> {
  const { createServer, connect } = await import("node:net");
  const server = createServer((client) => {
    const backend = connect(backendPort, "127.0.0.1");
    let index = 0;
    client.on("error", () => backend.destroy());
    backend.on("error", () => client.destroy());
    client.on("close", () => backend.destroy());
    backend.on("close", () => client.destroy());
    client.pipe(backend); // with backpressure: a server that reads nothing stops the client
    client.on("drain", () => backend.resume());
    backend.on("data", (d) => {
      if (client.destroyed) return;
      if (!client.write(d)) backend.pause();
      onBackendData(client, index++);
    });
  });
  await listenLocal(server);
  return { server, port: (server.address() as net.AddressInfo).port };
}
