/** IPC messages between the orchestrator (bench/core.ts) and its worker processes (bench/worker.ts). */
import type { CertMaterial, Impl, ResumeKind, SuiteKey } from "./impl.js";

export interface HandshakeParams {
  kind: "handshake";
  /** Full handshakes ("none"), or each connection resumes the session of the one before. */
  resume: ResumeKind;
  /** Concurrent client loops, each one connection after another. */
  concurrency: number;
  warmupMs: number;
  durationMs: number;
  /**
   * The window lasts at least this many connections, however long they take (tests on a busy
   * machine use it so that their checks have samples; the bench itself leaves it at 0).
   */
  minConnections?: number;
}

export interface BulkParams {
  kind: "bulk";
  /** Bytes per write() call at the sender. */
  writeSize: number;
  /** Bytes sent before the receiver starts its clock. */
  warmupBytes: number;
  /** Bytes timed at the receiver (sent after the warm-up bytes). */
  measuredBytes: number;
}

export interface IdleParams {
  kind: "idle";
  /** Connections held open at once (each handshaken and echoed one byte, then idle). */
  connections: number;
  /** Connections opened and closed before the baseline sample. */
  warmup: number;
  /** Handshakes in flight while opening them. */
  concurrency: number;
}

export type CaseParams = HandshakeParams | BulkParams | IdleParams;

export type ToWorker =
  | { type: "server"; impl: Impl; suite: SuiteKey; cert: CertMaterial; params: CaseParams; profile?: string }
  | {
      type: "client";
      impl: Impl;
      suite: SuiteKey;
      ca: string;
      port: number;
      params: CaseParams;
      /** Write a V8 CPU profile of the measured window to this file. */
      profile?: string;
    }
  /** Handshake servers: start counting (the client's warm-up is over). */
  | { type: "mark" }
  /** Handshake servers: stop counting and report. */
  | { type: "collect" }
  /** Idle servers: full GCs, then report resident memory ("sample"). */
  | { type: "sample" }
  /** Idle clients: open the idle connections ("idle-open"), then close them ("idle-closed"). */
  | { type: "open-idle" }
  | { type: "close-idle" };

export interface ServerHandshakeStats {
  /** Handshakes completed between mark and collect. */
  handshakes: number;
  /** How many of those were resumed (TypeTLS info.resumed, node isSessionReused()). */
  resumed: number;
  /** Process CPU (user + system, all threads) between mark and collect, µs. */
  cpuUs: number;
  /** The system (kernel) part of cpuUs. */
  sysUs: number;
  wallMs: number;
  /** Failed connections seen by the server over the whole run. */
  errors: number;
  firstError?: string;
}

export interface ClientHandshakeStats {
  /** Full connections (connect, handshake, 1-byte echo, close) finished inside the window. */
  connections: number;
  /** How many of those resumed a session. */
  resumed: number;
  /** How the last resumed one did (TypeTLS: "session_id", "ticket", "psk_dhe_ke"; node: "reused"). */
  resumedWith: string;
  wallMs: number;
  cpuUs: number;
  sysUs: number;
  /** Per-connection latency percentiles inside the window, ms. */
  p50Ms: number;
  p99Ms: number;
  errors: number;
  firstError?: string;
  /** Negotiated suite (IANA) and group, as reported by the client. */
  cipher: string;
  group: string;
}

export interface ReceiverStats {
  /** Bytes counted between the receiver's start and stop marks. */
  measuredBytes: number;
  totalBytes: number;
  wallMs: number;
  cpuUs: number;
  sysUs: number;
}

export interface SenderStats {
  /** Bytes written from the sender's start mark until the stream finished. */
  measuredBytes: number;
  totalBytes: number;
  wallMs: number;
  cpuUs: number;
  sysUs: number;
  cipher: string;
  group: string;
}

export interface MemorySample {
  /** VmRSS from /proc/self/status, bytes (after full GCs when the worker has --expose-gc). */
  rssBytes: number;
  /** process.memoryUsage().heapUsed, bytes. */
  heapBytes: number;
  /** Connections the server holds open. */
  connections: number;
  /** Whether global.gc was available. */
  gc: boolean;
}

export type FromWorker =
  | { type: "alive" }
  | { type: "ready"; port: number }
  | { type: "window-start" }
  | { type: "window-end" }
  | { type: "server-handshake"; stats: ServerHandshakeStats }
  | { type: "client-handshake"; stats: ClientHandshakeStats }
  | { type: "receiver"; stats: ReceiverStats }
  | { type: "sender"; stats: SenderStats }
  | { type: "sample"; stats: MemorySample }
  | { type: "idle-warm" }
  | { type: "idle-open"; opened: number; errors: number; firstError?: string; cipher: string; group: string }
  | { type: "idle-closed" }
  | { type: "failed"; message: string };
