/**
 * The TypeTLS side of the interop cells: observers that record what our socket did, our server on an
 * ephemeral port, timeouts, and assertion messages that carry every transcript. Test material only.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { EventEmitter } from "node:events";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { AlertEvent, TraceEvent } from "../../src/connection.js";
import {
  type ConnectOptions,
  type CreateServerOptions,
  connect,
  createServer,
  groupName,
  type HandshakeInfo,
  type TLSServer,
  type TLSSocket,
} from "../../src/index.js";
import type { TLSSession } from "../../src/session/client-session.js";
import { type Chain, makeChain, type StandardPki, standardPki } from "../fixtures/pki.js";

export { groupName };

/** Per-test timeout (node:test `{ timeout }`): a cell is a few hundred ms; this only catches hangs. */
export const CELL_TIMEOUT = 30_000;
/** How long one step of a cell (handshake, one data transfer, close) may take. */
export const STEP = 10_000;

export function pki(): Promise<StandardPki> {
  return standardPki();
}

/** Writes `text` to a file in the chain's directory (e.g. a combined CA file) and returns its path. */
export function writeBeside(chain: Chain, name: string, text: string): string {
  const p = join(chain.files.dir, name);
  let same = false;
  try {
    same = readFileSync(p, "utf8") === text;
  } catch {
    same = false;
  }
  if (!same) writeFileSync(p, text);
  return p;
}

let scratch: string | undefined;
/** A fresh path for a peer's output file (key logs), in a directory removed when the process exits. */
export function tempFile(name: string): string {
  if (!scratch) {
    const dir = mkdtempSync(join(tmpdir(), "typetls-interop-"));
    scratch = dir;
    process.on("exit", () => rmSync(dir, { recursive: true, force: true }));
  }
  return join(mkdtempSync(join(scratch, "f-")), name);
}

/** The TLS 1.3 secrets of an NSS key log file (RFC 8446 §7.1 names; the 0-RTT ones are not used). */
export const KEYLOG_LABELS_13 = [
  "CLIENT_HANDSHAKE_TRAFFIC_SECRET",
  "SERVER_HANDSHAKE_TRAFFIC_SECRET",
  "CLIENT_TRAFFIC_SECRET_0",
  "SERVER_TRAFFIC_SECRET_0",
  "EXPORTER_SECRET",
] as const;

/**
 * The lines of an NSS key log file that start with one of `labels` (default: the TLS 1.2
 * CLIENT_RANDOM line); none if the file does not exist.
 */
export function keylogLines(path: string, labels: readonly string[] = ["CLIENT_RANDOM"]): string[] {
  let text = "";
  try {
    text = readFileSync(path, "utf8");
  } catch {
    return [];
  }
  return text.split("\n").filter((l) => labels.some((x) => l.startsWith(`${x} `)));
}

/** Anything that can describe itself for a failure message. */
export interface Describable {
  transcript(): string;
  /** Gives a peer process a moment to finish printing (exit) before its transcript is taken. */
  settle?(ms: number): Promise<void>;
}

/**
 * Runs a cell body; when it throws, the error message gets every transcript appended, so a red
 * test says what each side printed and saw. TYPETLS_INTEROP_VERBOSE=1 prints them for green cells too.
 */
export async function cell(parts: Describable[], body: () => Promise<void>): Promise<void> {
  try {
    await body();
    if (process.env.TYPETLS_INTEROP_VERBOSE === "1") {
      await Promise.all(parts.map((p) => p.settle?.(1500)));
      process.stderr.write(`${parts.map((p) => p.transcript()).join("\n")}\n`);
    }
  } catch (e) {
    const err = e instanceof Error ? e : new Error(String(e));
    await Promise.all(parts.map((p) => p.settle?.(1500)));
    const diag = parts.map((p) => p.transcript()).join("\n");
    err.message = `${err.message}\n===== diagnostics =====\n${diag}`;
    throw err;
  }
}

/** Rejects after `ms` with `what` in the message. */
export async function within<T>(ms: number, what: string, p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timeout (${ms} ms): ${what}`)), ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Records everything one of our TLSSockets does. */
export class Observer extends EventEmitter implements Describable {
  info: HandshakeInfo | null = null;
  data = "";
  readonly alerts: AlertEvent[] = [];
  readonly errors: Error[] = [];
  readonly keylog: string[] = [];
  /** Handshake and post-handshake messages, both directions ('trace' events). */
  readonly traces: TraceEvent[] = [];
  /** TLS 1.3 NewSessionTicket messages received ('session' events). */
  readonly sessions: TLSSession[] = [];
  readonly log: string[] = [];
  ended = false;
  truncated = false;
  closed = false;
  private readonly t0 = Date.now();

  constructor(
    readonly sock: TLSSocket,
    readonly label: string,
  ) {
    super();
    sock.on("secure", (info: HandshakeInfo) => {
      this.info = info;
      this.note(
        `secure ${info.protocol} ${info.cipherSuite.name} group=${info.group === undefined ? "-" : groupName(info.group)} alpn=${info.alpnProtocol ?? "-"} sni=${info.serverName ?? "-"} peerCerts=[${info.peerCertificates.map((c) => c.subject.toString()).join(" | ")}]`,
      );
    });
    sock.on("data", (d: Buffer) => {
      this.data += d.toString("utf8");
      this.note(`data ${JSON.stringify(d.toString("utf8"))}`);
    });
    sock.on("alert", (a: AlertEvent) => {
      this.alerts.push(a);
      this.note(`alert ${a.sentBy === "local" ? "sent" : "received"} ${a.name} (level ${a.level})`);
    });
    sock.on("keylog", (l: string) => this.keylog.push(l));
    sock.on("trace", (t: TraceEvent) => {
      this.traces.push(t);
      const f = Object.entries(t.fields)
        .map(([k, v]) => `${k}=${v}`)
        .join(" ");
      this.note(`${t.direction} ${t.message}${f ? ` ${f.length > 300 ? `${f.slice(0, 300)}...` : f}` : ""}`);
    });
    sock.on("session", (s: TLSSession) => {
      this.sessions.push(s);
      this.note(`session ticket lifetime=${s.state.lifetime}s ${s.state.ticket.length} bytes`);
    });
    sock.on("error", (e: Error) => {
      this.errors.push(e);
      const code = (e as { code?: unknown }).code;
      this.note(`error ${e.name} ${String(code ?? "")}: ${e.message}`);
    });
    sock.on("end", () => {
      this.ended = true;
      this.note("end");
    });
    sock.on("truncated", () => {
      this.truncated = true;
      this.note("truncated (TCP closed without close_notify)");
    });
    sock.on("close", () => {
      this.closed = true;
      this.note("close");
    });
  }

  private note(s: string): void {
    this.log.push(`+${Date.now() - this.t0}ms ${s}`);
    this.emit("change");
  }

  /** Resolves when `cond()` holds; rejects on timeout with the observer's log. */
  until(cond: () => boolean, ms: number, what: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        if (cond()) {
          done();
          resolve();
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`timeout (${ms} ms) waiting for ${what} on ${this.label}`));
      }, ms);
      const done = (): void => {
        clearTimeout(timer);
        this.off("change", check);
      };
      this.on("change", check);
      check();
    });
  }

  /** Resolves with the handshake info; rejects if the socket fails or closes first. */
  async secure(ms = STEP): Promise<HandshakeInfo> {
    await this.until(() => this.info !== null || this.errors.length > 0 || this.closed, ms, "the handshake");
    if (!this.info) {
      throw new Error(`${this.label}: handshake failed: ${this.errors.map((e) => e.message).join("; ")}`);
    }
    return this.info;
  }

  /** Resolves once the received plaintext contains `s`. */
  receive(s: string, ms = STEP): Promise<void> {
    return this.until(() => this.data.includes(s) || this.closed, ms, `data ${JSON.stringify(s)}`).then(
      () => {
        if (!this.data.includes(s))
          throw new Error(`${this.label} closed before ${JSON.stringify(s)} arrived`);
      },
    );
  }

  waitClosed(ms = STEP): Promise<void> {
    return this.until(() => this.closed, ms, "close");
  }

  /** The peer's close_notify arrived. */
  get peerCloseNotify(): boolean {
    return this.alerts.some((a) => a.name === "close_notify" && a.sentBy === "peer");
  }

  /** How many `message`s went in `direction` (trace events). */
  traced(direction: "send" | "recv", message: string): number {
    return this.traces.filter((t) => t.direction === direction && t.message === message).length;
  }

  /** The names of the messages traced, e.g. "send ClientHello", in order. */
  get flow(): string[] {
    return this.traces.map((t) => `${t.direction} ${t.message}`);
  }

  get sentCloseNotify(): boolean {
    return this.alerts.some((a) => a.name === "close_notify" && a.sentBy === "local");
  }

  /** The first error, as our TLSError fields (for the negative cells). */
  get firstError(): { code?: string; alertName?: string; sentBy?: string; message: string } | undefined {
    const e = this.errors[0] as (Error & { code?: string; alertName?: string; sentBy?: string }) | undefined;
    if (!e) return undefined;
    const out: { code?: string; alertName?: string; sentBy?: string; message: string } = {
      message: e.message,
    };
    if (e.code !== undefined) out.code = e.code;
    if (e.alertName !== undefined) out.alertName = e.alertName;
    if (e.sentBy !== undefined) out.sentBy = e.sentBy;
    return out;
  }

  /** Asserts a clean end: no error, the peer's close_notify arrived (when `peerCloses`), socket closed. */
  assertCleanClose(opts: { peerCloseNotify?: boolean } = {}): void {
    assert.deepEqual(
      this.errors.map((e) => e.message),
      [],
      `${this.label}: no error expected`,
    );
    if (opts.peerCloseNotify ?? true) {
      assert.ok(this.peerCloseNotify, `${this.label}: the peer's close_notify should have arrived`);
      assert.equal(this.truncated, false, `${this.label}: not truncated`);
    }
    assert.ok(this.closed, `${this.label}: closed`);
  }

  transcript(): string {
    return `--- TypeTLS ${this.label}:\n${this.log.join("\n")}\n---`;
  }
}

/** Our client, observed. */
export function ourClient(opts: ConnectOptions, label = "client"): Observer {
  const sock = connect({ host: "127.0.0.1", handshakeTimeout: STEP, ...opts });
  return new Observer(sock, label);
}

/** Our server on 127.0.0.1:ephemeral; every connection and every client error, observed. */
export class OurServer extends EventEmitter implements Describable {
  readonly conns: Observer[] = [];
  readonly clientErrors: { code?: string; alertName?: string; sentBy?: string; message: string }[] = [];
  port = 0;
  /** Runs for each accepted connection (before the handshake completes). */
  onConnection: ((o: Observer) => void) | undefined;

  constructor(readonly server: TLSServer) {
    super();
    server.on("connection", (s: TLSSocket) => {
      const o = new Observer(s, `server connection #${this.conns.length + 1}`);
      this.conns.push(o);
      o.on("change", () => this.emit("change"));
      this.onConnection?.(o);
      this.emit("change");
    });
    server.on("tlsClientError", (e: Error & { code?: string; alertName?: string; sentBy?: string }) => {
      const rec: { code?: string; alertName?: string; sentBy?: string; message: string } = {
        message: e.message,
      };
      if (e.code !== undefined) rec.code = e.code;
      if (e.alertName !== undefined) rec.alertName = e.alertName;
      if (e.sentBy !== undefined) rec.sentBy = e.sentBy;
      this.clientErrors.push(rec);
      this.emit("change");
    });
  }

  /** The first connection that completed a handshake; rejects when one fails first. */
  async secured(ms = STEP): Promise<Observer> {
    await new Promise<void>((resolve, reject) => {
      const check = (): void => {
        if (this.conns.some((c) => c.info)) {
          done();
          resolve();
        } else if (this.conns.some((c) => c.errors.length > 0)) {
          done();
          reject(
            new Error(
              `the connection to our server failed: ${this.conns.find((c) => c.errors.length > 0)?.errors[0]?.message}`,
            ),
          );
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`timeout (${ms} ms): no connection to our server completed a handshake`));
      }, ms);
      const done = (): void => {
        clearTimeout(timer);
        this.off("change", check);
      };
      this.on("change", check);
      check();
    });
    return this.conns.find((c) => c.info)!;
  }

  /** Resolves when a connection failed with a TLS error (tlsClientError). */
  failed(ms = STEP): Promise<{ code?: string; alertName?: string; sentBy?: string; message: string }> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        // Our observer's 'error' listener means the server may not emit tlsClientError: look at both.
        const e = this.clientErrors[0] ?? this.conns.find((c) => c.errors.length > 0)?.firstError;
        if (e) {
          done();
          resolve(e);
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`timeout (${ms} ms): no connection to our server failed`));
      }, ms);
      const done = (): void => {
        clearTimeout(timer);
        this.off("change", check);
      };
      this.on("change", check);
      check();
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  transcript(): string {
    const errs = this.clientErrors.map((e) => `tlsClientError ${e.code ?? ""}: ${e.message}`).join("\n");
    return [
      `--- TypeTLS server on port ${this.port}: ${errs || "no tlsClientError"}`,
      ...this.conns.map((c) => c.transcript()),
    ].join("\n");
  }
}

export async function ourServer(opts: CreateServerOptions): Promise<OurServer> {
  const server = createServer({ handshakeTimeout: STEP, ...opts });
  const s = new OurServer(server);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  s.port = server.address().port;
  return s;
}

/**
 * Our server's application for line-based peers: each line received is answered with
 * `echo:<line>`; with `closeAfterEcho`, close_notify follows the first answer.
 */
export function lineEcho(o: Observer, closeAfterEcho: boolean): void {
  let buf = "";
  o.sock.on("data", (d: Buffer) => {
    buf += d.toString("utf8");
    let nl = buf.indexOf("\n");
    while (nl >= 0) {
      const line = buf.slice(0, nl + 1);
      buf = buf.slice(nl + 1);
      o.sock.write(`echo:${line}`);
      if (closeAfterEcho) {
        o.sock.end();
        return;
      }
      nl = buf.indexOf("\n");
    }
  });
}

// ---- the matrix's vocabulary ---------------------------------------------------------------------

export type Auth = "ECDSA" | "RSA" | "RSA-KX";

export interface SuiteCase {
  iana: string;
  openssl: string;
  auth: Auth;
  /** GnuTLS priority names of the key exchange and the cipher. */
  gnutlsKx: string;
  gnutlsCipher: string;
}

export const ECDHE_SUITES: readonly SuiteCase[] = [
  {
    iana: "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
    openssl: "ECDHE-ECDSA-AES128-GCM-SHA256",
    auth: "ECDSA",
    gnutlsKx: "ECDHE-ECDSA",
    gnutlsCipher: "AES-128-GCM",
  },
  {
    iana: "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
    openssl: "ECDHE-ECDSA-AES256-GCM-SHA384",
    auth: "ECDSA",
    gnutlsKx: "ECDHE-ECDSA",
    gnutlsCipher: "AES-256-GCM",
  },
  {
    iana: "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
    openssl: "ECDHE-ECDSA-CHACHA20-POLY1305",
    auth: "ECDSA",
    gnutlsKx: "ECDHE-ECDSA",
    gnutlsCipher: "CHACHA20-POLY1305",
  },
  {
    iana: "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
    openssl: "ECDHE-RSA-AES128-GCM-SHA256",
    auth: "RSA",
    gnutlsKx: "ECDHE-RSA",
    gnutlsCipher: "AES-128-GCM",
  },
  {
    iana: "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
    openssl: "ECDHE-RSA-AES256-GCM-SHA384",
    auth: "RSA",
    gnutlsKx: "ECDHE-RSA",
    gnutlsCipher: "AES-256-GCM",
  },
  {
    iana: "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
    openssl: "ECDHE-RSA-CHACHA20-POLY1305",
    auth: "RSA",
    gnutlsKx: "ECDHE-RSA",
    gnutlsCipher: "CHACHA20-POLY1305",
  },
];

/** RSA key transport (enableLegacyRsaKeyExchange on our side). */
export const RSA_KX_SUITES: readonly SuiteCase[] = [
  {
    iana: "TLS_RSA_WITH_AES_128_GCM_SHA256",
    openssl: "AES128-GCM-SHA256",
    auth: "RSA-KX",
    gnutlsKx: "RSA",
    gnutlsCipher: "AES-128-GCM",
  },
  {
    iana: "TLS_RSA_WITH_AES_256_GCM_SHA384",
    openssl: "AES256-GCM-SHA384",
    auth: "RSA-KX",
    gnutlsKx: "RSA",
    gnutlsCipher: "AES-256-GCM",
  },
];

export const ALL_SUITE_CASES: readonly SuiteCase[] = [...ECDHE_SUITES, ...RSA_KX_SUITES];

export interface GroupCase {
  /** groupName() of ours */
  name: "X25519" | "P-256" | "P-384";
  openssl: string;
  gnutls: string;
  /** as GnuTLS prints it in "(ECDHE-...)" */
  gnutlsDesc: string;
  /** node: ecdhCurve / getEphemeralKeyInfo().name */
  node: string;
}

export const GROUPS: readonly GroupCase[] = [
  { name: "X25519", openssl: "X25519", gnutls: "GROUP-X25519", gnutlsDesc: "X25519", node: "X25519" },
  {
    name: "P-256",
    openssl: "prime256v1",
    gnutls: "GROUP-SECP256R1",
    gnutlsDesc: "SECP256R1",
    node: "prime256v1",
  },
  {
    name: "P-384",
    openssl: "secp384r1",
    gnutls: "GROUP-SECP384R1",
    gnutlsDesc: "SECP384R1",
    node: "secp384r1",
  },
];

/** The standard chain that authenticates a suite: ECDSA P-256 for ECDSA suites, RSA otherwise. */
export function chainFor(p: StandardPki, s: SuiteCase): Chain {
  return s.auth === "ECDSA" ? p.p256 : p.rsa;
}

/** GnuTLS priority string for TLS 1.2 only, narrowed to one suite and/or one group. */
export function gnutlsPriority(opts: { suite?: SuiteCase; group?: GroupCase; extra?: string } = {}): string {
  let p = "NORMAL:-VERS-ALL:+VERS-TLS1.2";
  if (opts.suite) p += `:-KX-ALL:+${opts.suite.gnutlsKx}:-CIPHER-ALL:+${opts.suite.gnutlsCipher}`;
  if (opts.group) p += `:-GROUP-ALL:+${opts.group.gnutls}`;
  if (opts.extra) p += `:${opts.extra}`;
  return p;
}

/** What `openssl s_server -rev` answers to a line (without its newline). */
export function reverseLine(s: string): string {
  return [...s].reverse().join("");
}

/** TLS 1.2 signature-algorithm cells: OpenSSL -sigalgs name, our code point, certificate kind. */
export interface SigalgCase {
  openssl: string;
  scheme: number;
  cert: "p256" | "p384" | "rsa";
  /** s_client's "Peer signature type" / "Peer signing digest" */
  type: string;
  digest: string;
}

export const SIGALGS: readonly SigalgCase[] = [
  // TLS 1.2 ECDSA code points name the hash only: any curve goes with any of them.
  { openssl: "ECDSA+SHA256", scheme: 0x0403, cert: "p384", type: "ECDSA", digest: "SHA256" },
  { openssl: "ECDSA+SHA384", scheme: 0x0503, cert: "p256", type: "ECDSA", digest: "SHA384" },
  { openssl: "ECDSA+SHA384", scheme: 0x0503, cert: "p384", type: "ECDSA", digest: "SHA384" },
  { openssl: "RSA+SHA256", scheme: 0x0401, cert: "rsa", type: "RSA", digest: "SHA256" },
  { openssl: "RSA+SHA384", scheme: 0x0501, cert: "rsa", type: "RSA", digest: "SHA384" },
  { openssl: "RSA+SHA512", scheme: 0x0601, cert: "rsa", type: "RSA", digest: "SHA512" },
  { openssl: "rsa_pss_rsae_sha256", scheme: 0x0804, cert: "rsa", type: "RSA-PSS", digest: "SHA256" },
  { openssl: "rsa_pss_rsae_sha384", scheme: 0x0805, cert: "rsa", type: "RSA-PSS", digest: "SHA384" },
  { openssl: "rsa_pss_rsae_sha512", scheme: 0x0806, cert: "rsa", type: "RSA-PSS", digest: "SHA512" },
];

// ---- TLS 1.3 vocabulary --------------------------------------------------------------------------

export type Version = "TLSv1.2" | "TLSv1.3";

/** A TLS 1.3 cipher suite: IANA (= OpenSSL) name and the GnuTLS priority name of its AEAD. */
export interface Suite13Case {
  iana: "TLS_AES_128_GCM_SHA256" | "TLS_AES_256_GCM_SHA384" | "TLS_CHACHA20_POLY1305_SHA256";
  gnutlsCipher: string;
}

export const TLS13_SUITES: readonly Suite13Case[] = [
  { iana: "TLS_AES_128_GCM_SHA256", gnutlsCipher: "AES-128-GCM" },
  { iana: "TLS_AES_256_GCM_SHA384", gnutlsCipher: "AES-256-GCM" },
  { iana: "TLS_CHACHA20_POLY1305_SHA256", gnutlsCipher: "CHACHA20-POLY1305" },
];

/** The server certificates a TLS 1.3 cell is run with, and the signature scheme each one signs with. */
export type CertKind = "p256" | "p384" | "rsa" | "ed25519";

export const CERT_KINDS_13: readonly { kind: CertKind; scheme: number; schemeName: string }[] = [
  { kind: "p256", scheme: 0x0403, schemeName: "ecdsa_secp256r1_sha256" },
  { kind: "p384", scheme: 0x0503, schemeName: "ecdsa_secp384r1_sha384" },
  // TLS 1.3 signs with RSA-PSS only (RFC 8446 §4.2.3): rsa_pss_rsae_sha256 for an rsaEncryption key.
  { kind: "rsa", scheme: 0x0804, schemeName: "rsa_pss_rsae_sha256" },
  { kind: "ed25519", scheme: 0x0807, schemeName: "ed25519" },
];

/** GnuTLS priority string for TLS 1.3 only, narrowed to one suite and/or one group. */
export function gnutlsPriority13(
  opts: { suite?: Suite13Case; group?: GroupCase; extra?: string } = {},
): string {
  let p = "NORMAL:-VERS-ALL:+VERS-TLS1.3";
  if (opts.suite) p += `:-CIPHER-ALL:+${opts.suite.gnutlsCipher}`;
  if (opts.group) p += `:-GROUP-ALL:+${opts.group.gnutls}`;
  if (opts.extra) p += `:${opts.extra}`;
  return p;
}

/**
 * Chains the standard PKI lacks, made once per test process: an Ed25519 client, and an RSA-PSS
 * server chain whose keys are id-RSASSA-PSS (made with the openssl CLI: WebCrypto, and so
 * makeChain's "rsa-pss", exports RSA-PSS keys as rsaEncryption). Certificate signatures use
 * salt length = hash length (OpenSSL's default for a PSS key is the maximum, which our verifier,
 * like Go's crypto/x509, does not accept).
 */
export interface ExtraPki {
  /** root, intermediate and leaf all id-RSASSA-PSS keys: the leaf signs with rsa_pss_pss_* only */
  rsaPss: Chain;
  /** Ed25519, clientAuth EKU, CN "typetls client ed25519" */
  clientEd25519: Chain;
}

function openssl(dir: string, args: string[]): void {
  const r = spawnSync("openssl", args, { cwd: dir, encoding: "utf8" });
  if (r.status !== 0) throw new Error(`openssl ${args.join(" ")} failed: ${r.stderr}`);
}

function opensslPssChain(): Chain {
  const dir = mkdtempSync(join(tmpdir(), "typetls-pss-"));
  process.on("exit", () => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(
    join(dir, "ca.ext"),
    "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n",
  );
  writeFileSync(
    join(dir, "leaf.ext"),
    "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:localhost,IP:127.0.0.1\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n",
  );
  const newKey = ["-newkey", "rsa-pss", "-pkeyopt", "rsa_keygen_bits:2048", "-nodes"];
  openssl(dir, [
    "req",
    "-x509",
    ...newKey,
    "-keyout",
    "root.key",
    "-out",
    "root.pem",
    "-sigopt",
    "rsa_pss_saltlen:digest",
    "-days",
    "30",
    "-subj",
    "/CN=TypeTLS Test Root rsa-pss/O=TypeTLS Test",
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,keyCertSign,cRLSign",
  ]);
  openssl(dir, [
    "req",
    ...newKey,
    "-keyout",
    "int.key",
    "-out",
    "int.csr",
    "-subj",
    "/CN=TypeTLS Test Intermediate rsa-pss/O=TypeTLS Test",
  ]);
  openssl(dir, [
    "x509",
    "-req",
    "-in",
    "int.csr",
    "-CA",
    "root.pem",
    "-CAkey",
    "root.key",
    "-set_serial",
    "2",
    "-sigopt",
    "rsa_pss_saltlen:digest",
    "-days",
    "30",
    "-extfile",
    "ca.ext",
    "-out",
    "int.pem",
  ]);
  openssl(dir, [
    "req",
    ...newKey,
    "-keyout",
    "leaf.key",
    "-out",
    "leaf.csr",
    "-subj",
    "/CN=localhost/O=TypeTLS Test",
  ]);
  openssl(dir, [
    "x509",
    "-req",
    "-in",
    "leaf.csr",
    "-CA",
    "int.pem",
    "-CAkey",
    "int.key",
    "-set_serial",
    "3",
    "-sigopt",
    "rsa_pss_saltlen:digest",
    "-days",
    "30",
    "-extfile",
    "leaf.ext",
    "-out",
    "leaf.pem",
  ]);
  const read = (f: string): string => readFileSync(join(dir, f), "utf8");
  const issued = (cert: string, key: string) => {
    const certPem = read(cert);
    const b64 = certPem.replace(/-----[^-]+-----/g, "").replace(/\s+/g, "");
    return { certPem, keyPem: read(key), certDer: new Uint8Array(Buffer.from(b64, "base64")) };
  };
  const root = issued("root.pem", "root.key");
  const intermediate = issued("int.pem", "int.key");
  const leaf = issued("leaf.pem", "leaf.key");
  const chainPem = leaf.certPem + intermediate.certPem;
  writeFileSync(join(dir, "chain.pem"), chainPem);
  return {
    root,
    intermediate,
    intermediates: [intermediate],
    leaf,
    chainPem,
    files: {
      dir,
      root: join(dir, "root.pem"),
      intermediate: join(dir, "int.pem"),
      leaf: join(dir, "leaf.pem"),
      leafKey: join(dir, "leaf.key"),
      chain: join(dir, "chain.pem"),
    },
  };
}

let extra: Promise<ExtraPki> | undefined;
export function extraPki(): Promise<ExtraPki> {
  extra ??= (async () => ({
    rsaPss: opensslPssChain(),
    clientEd25519: await makeChain({
      key: "ed25519",
      purpose: "clientAuth",
      subjectCN: "typetls client ed25519",
      hosts: [],
      ips: [],
    }),
  }))();
  return extra;
}
