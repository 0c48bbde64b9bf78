/** Turns collected results into the readable table (name | TypeTLS | node | ratio). */
import {
  type BulkResult,
  type HandshakeCase,
  type HandshakeResult,
  type IdleResult,
  median,
  type Pair,
  type PlanEntry,
  pairKey,
} from "./core.js";
import { SUITES } from "./impl.js";

export type Outcome<T> = { ok: true; value: T } | { ok: false; error: string };

export interface Collected {
  entry: PlanEntry;
  /** pairKey → one outcome per trial */
  runs: Map<string, Outcome<Result>[]>;
}

export type Result = HandshakeResult | BulkResult | IdleResult;

export function isHandshake(v: Result): v is HandshakeResult {
  return "connPerSec" in v;
}

export function isIdle(v: Result): v is IdleResult {
  return "rssPerConnection" in v;
}

const kib = (b: number): string => `${(b / 1024).toFixed(1)} KiB`;

/** One line per run, for the progress log. */
export function summary(v: Result): string {
  const us = (x: number) => x.toFixed(0);
  if (isIdle(v)) {
    return (
      `${v.connections} idle connections: server RSS ${kib(v.rssPerConnection)} / connection ` +
      `(${(v.baseline.rssBytes / 1048576).toFixed(1)} → ${(v.idle.rssBytes / 1048576).toFixed(1)} MiB), ` +
      `JS heap ${kib(v.heapPerConnection)} / connection`
    );
  }
  if (isHandshake(v)) {
    const err = v.client.errors + v.server.errors;
    const ss = v.server.handshakes > 0 ? v.server.sysUs / v.server.handshakes : Number.NaN;
    const cs = v.client.sysUs / v.client.connections;
    return (
      `${v.connPerSec.toFixed(1)} conn/s, server ${us(v.serverCpuUs)} µs/hs (kernel ${us(ss)}), ` +
      `client ${us(v.clientCpuUs)} µs/conn (kernel ${us(cs)}), p50 ${v.p50Ms.toFixed(2)} ms` +
      (v.client.resumed > 0 ? `, ${v.client.resumed}/${v.client.connections} resumed` : "") +
      (err > 0 ? `, ${err} errors (${v.client.firstError ?? v.server.firstError})` : "")
    );
  }
  const rs = v.receiver.sysUs / (v.receiver.measuredBytes / 1e6);
  const ss = v.sender.sysUs / (v.sender.measuredBytes / 1e6);
  return (
    `${v.mbPerSec.toFixed(1)} MB/s, receiver ${us(v.receiverCpuUsPerMB)} µs/MB (kernel ${us(rs)}), ` +
    `sender ${us(v.senderCpuUsPerMB)} µs/MB (kernel ${us(ss)})`
  );
}

export interface Row {
  name: string;
  typetls: number;
  node: number;
  /** "factor": a ratio within one implementation (resumed conn/s ÷ full conn/s). */
  unit: "rate" | "us" | "ms" | "count" | "factor" | "kib";
}

const TT: Pair = { client: "typetls", server: "typetls" };
const NN: Pair = { client: "node", server: "node" };
const TN: Pair = { client: "typetls", server: "node" };
const NT: Pair = { client: "node", server: "typetls" };

/** Median over the successful trials of one pair (NaN when none succeeded). */
function pick<T extends Result>(c: Collected, pair: Pair, f: (v: T) => number): number {
  const outcomes = c.runs.get(pairKey(pair)) ?? [];
  return median(outcomes.flatMap((x) => (x.ok ? [f(x.value as T)] : [])));
}

const RESUMED_LABEL = {
  session_id: "TLS 1.2 session id",
  ticket: "TLS 1.2 ticket",
  psk_dhe_ke: "TLS 1.3 psk_dhe_ke",
} as const;

function certLabel(spec: HandshakeCase): string {
  return spec.cert === "ecdsa" ? "ECDSA P-256" : "RSA-2048";
}

/** The full-handshake case a resumed case compares with: same version, certificate and concurrency. */
function fullCaseFor(spec: HandshakeCase, all: readonly Collected[]): Collected | undefined {
  const version = SUITES[spec.suite].version;
  return all.find((x) => {
    const s = x.entry.spec;
    return (
      s.kind === "handshake" &&
      (s.resume ?? "none") === "none" &&
      s.client === spec.client &&
      s.cert === spec.cert &&
      s.concurrency === spec.concurrency &&
      SUITES[s.suite].version === version
    );
  });
}

function handshakeRows(c: Collected, spec: HandshakeCase, all: readonly Collected[]): Row[] {
  // With one node:tls client for both servers, the TypeTLS column is node → TypeTLS.
  const tt = spec.client === "node" ? NT : TT;
  const row = (name: string, unit: Row["unit"], f: (v: HandshakeResult) => number): Row => ({
    name,
    typetls: pick(c, tt, f),
    node: pick(c, NN, f),
    unit,
  });
  const resume = spec.resume ?? "none";
  const tls13 = SUITES[spec.suite].version === "TLSv1.3";
  const title =
    resume === "none"
      ? `handshake ${tls13 ? "TLS 1.3 " : ""}${certLabel(spec)} c=${spec.concurrency}` +
        (spec.client === "node" ? ", servers only (node client)" : "")
      : `resumed ${RESUMED_LABEL[resume]} c=${spec.concurrency}`;
  const conn = (v: HandshakeResult) => v.connPerSec;
  const rows = [row(`${title}: conn/s`, "rate", conn)];
  const full = resume === "none" ? undefined : fullCaseFor(spec, all);
  if (full) {
    rows.push({
      name: "    × full-handshake conn/s",
      typetls: pick(c, TT, conn) / pick(full, TT, conn),
      node: pick(c, NN, conn) / pick(full, NN, conn),
      unit: "factor",
    });
  }
  rows.push(
    row("    server CPU µs / handshake", "us", (v) => v.serverCpuUs),
    row("    client CPU µs / connection", "us", (v) => v.clientCpuUs),
    row("    p50 ms / connection", "ms", (v) => v.p50Ms),
  );
  const errors = row("    connection errors", "count", (v) => v.client.errors + v.server.errors);
  if (errors.typetls > 0 || errors.node > 0) rows.push(errors);
  return rows;
}

function bulkRows(c: Collected, suite: string): Row[] {
  const row = (name: string, pair: Pair, unit: Row["unit"], f: (v: BulkResult) => number): Row => ({
    name,
    typetls: pick(c, pair, f),
    node: pick(c, NN, f),
    unit,
  });
  const mbps = (v: BulkResult) => v.mbPerSec;
  const rx = (v: BulkResult) => v.receiverCpuUsPerMB;
  const tx = (v: BulkResult) => v.senderCpuUsPerMB;
  const rows = [
    row(`bulk ${suite}, 16 KiB writes: MB/s`, TT, "rate", mbps),
    row("    receiver CPU µs / MB", TT, "us", rx),
    row("    sender CPU µs / MB", TT, "us", tx),
  ];
  if (c.runs.has(pairKey(TN))) {
    rows.push(
      row("  TypeTLS sends, node receives: MB/s", TN, "rate", mbps),
      row("    sender CPU µs / MB", TN, "us", tx),
    );
  }
  if (c.runs.has(pairKey(NT))) {
    rows.push(
      row("  node sends, TypeTLS receives: MB/s", NT, "rate", mbps),
      row("    receiver CPU µs / MB", NT, "us", rx),
    );
  }
  return rows;
}

function idleRows(c: Collected, connections: number, suite: string): Row[] {
  const row = (name: string, f: (v: IdleResult) => number): Row => ({
    name,
    typetls: pick(c, NT, f),
    node: pick(c, NN, f),
    unit: "kib",
  });
  return [
    row(`${connections} idle ${suite} connections: server RSS KiB / conn`, (v) => v.rssPerConnection / 1024),
    row("    server JS heap KiB / conn", (v) => v.heapPerConnection / 1024),
  ];
}

/** The rows of one case; `all` (the whole run) supplies the full-handshake case a resumed one compares with. */
export function rowsFor(c: Collected, all: readonly Collected[] = [c]): Row[] {
  const spec = c.entry.spec;
  if (spec.kind === "handshake") return handshakeRows(c, spec, all);
  if (spec.kind === "idle") return idleRows(c, spec.connections, SUITES[spec.suite].label);
  return bulkRows(c, SUITES[spec.suite].label.replace("ECDHE-ECDSA ", ""));
}

function fmt(v: number, unit: Row["unit"]): string {
  if (!Number.isFinite(v)) return "—";
  if (unit === "ms") return v.toFixed(2);
  if (unit === "kib") return v.toFixed(1);
  if (unit === "factor") return `${v.toFixed(2)}×`;
  if (unit === "rate" && v < 100) return v.toFixed(1);
  return Math.round(v).toLocaleString("en-US");
}

export function renderTable(collected: readonly Collected[]): string {
  const header = ["name", "TypeTLS", "node", "ratio"];
  const cells = collected
    .flatMap((c) => rowsFor(c, collected))
    .map((r) => {
      const ratio = r.typetls / r.node;
      return [
        r.name,
        fmt(r.typetls, r.unit),
        fmt(r.node, r.unit),
        Number.isFinite(ratio) ? `${ratio.toFixed(2)}×` : "—",
      ];
    });
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: readonly string[]) =>
    `| ${c.map((x, i) => (i === 0 ? x.padEnd(widths[i]!) : x.padStart(widths[i]!))).join(" | ")} |`;
  const rule = widths.map((w, i) => (i === 0 ? "-".repeat(w + 2) : `${"-".repeat(w + 1)}:`));
  const out = [line(header), `|${rule.join("|")}|`, ...cells.map(line)];
  const failed: string[] = [];
  for (const c of collected)
    for (const [k, list] of c.runs)
      for (const x of list) if (!x.ok) failed.push(`  ${c.entry.id} ${k}: ${x.error.split("\n")[0]}`);
  if (failed.length > 0) out.push("", "failed runs:", ...failed);
  return out.join("\n");
}
