/** Pieces the client and server commands share: options to library options, key log, trace, errors. */
import { closeSync, openSync, readFileSync, writeSync } from "node:fs";
import { AlertDescription } from "../alert.js";
import { type CommonOptions, ConfigError } from "../config.js";
import { TLSError } from "../errors.js";
import type { TLSSocket } from "../node/socket.js";
import { formatAlertEvent, formatTraceEvent, type Role } from "../trace/text.js";
import { parseVersionArg, splitList, UsageError } from "./args.js";

/** The values of CONNECTION_OPTIONS after parsing (the subset both commands use). */
export interface ConnectionValues {
  "min-version"?: string | undefined;
  "max-version"?: string | undefined;
  ciphers?: string | undefined;
  groups?: string | undefined;
  alpn?: string | undefined;
  "legacy-rsa-kx"?: boolean | undefined;
  "no-middlebox-compat"?: boolean | undefined;
}

export function commonOptions(v: ConnectionValues): CommonOptions {
  const o: CommonOptions = {};
  if (v["min-version"] !== undefined) o.minVersion = parseVersionArg("--min-version", v["min-version"]);
  if (v["max-version"] !== undefined) o.maxVersion = parseVersionArg("--max-version", v["max-version"]);
  if (v.ciphers !== undefined) o.cipherSuites = splitList(v.ciphers);
  if (v.groups !== undefined) o.groups = splitList(v.groups);
  if (v.alpn !== undefined) o.alpnProtocols = splitList(v.alpn);
  if (v["legacy-rsa-kx"]) o.enableLegacyRsaKeyExchange = true;
  if (v["no-middlebox-compat"]) o.middleboxCompatibility = false;
  return o;
}

/** Reads a PEM file named on the command line; a missing file is a usage error (exit 2). */
export function readPemFile(option: string, file: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch (e) {
    throw new UsageError(`${option} ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

export interface Output {
  /** Writes to standard output; false when the caller should wait for stdout's 'drain'. */
  out(text: string | Uint8Array): boolean;
  err(line: string): void;
}

export const stdio: Output = {
  out: (t) => process.stdout.write(t),
  err: (line) => {
    process.stderr.write(`${line}\n`);
  },
};

/** NSS key log, appended to --keylog FILE or $SSLKEYLOGFILE. */
export class KeyLog {
  private fd: number | null;
  private constructor(
    fd: number,
    readonly path: string,
  ) {
    this.fd = fd;
  }

  /** Opens the key log named by the option or the environment, or returns null when there is none. */
  static open(option: string | undefined): KeyLog | null {
    const path = option ?? process.env.SSLKEYLOGFILE;
    if (path === undefined || path === "") return null;
    try {
      return new KeyLog(openSync(path, "a", 0o600), path);
    } catch (e) {
      throw new UsageError(`key log ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
  }

  attach(sock: TLSSocket): void {
    sock.on("keylog", (line: string) => {
      if (this.fd !== null) writeSync(this.fd, `${line}\n`);
    });
  }

  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }
}

/** --trace: every handshake message and alert on stderr, one line each. */
export function attachTrace(sock: TLSSocket, role: Role, io: Output, prefix = "typetls: trace:"): void {
  sock.on("trace", (ev) => io.err(`${prefix} ${formatTraceEvent(role, ev)}`));
  sock.on("alert", (a) => io.err(`${prefix} ${formatAlertEvent(role, a)}`));
}

const CERTIFICATE_ALERTS: ReadonlySet<number> = new Set([
  AlertDescription.bad_certificate,
  AlertDescription.unsupported_certificate,
  AlertDescription.certificate_revoked,
  AlertDescription.certificate_expired,
  AlertDescription.certificate_unknown,
  AlertDescription.unknown_ca,
]);

/**
 * One line for a failed connection, naming the alert and the stable code, e.g.
 * `certificate verification failed: CERT_HAS_EXPIRED: ... (sent certificate_expired)`.
 */
export function describeError(e: unknown): string {
  if (e instanceof TLSError) {
    const isCertCode = !e.code.startsWith("ERR_TLS_ALERT_") && !e.code.startsWith("ERR_TLS_PEER_ALERT_");
    if (e.sentBy === "local" && CERTIFICATE_ALERTS.has(e.alert) && isCertCode)
      return `certificate verification failed: ${e.code}: ${e.message}`;
    return `${e.message} [${e.code}]`;
  }
  if (e instanceof ConfigError) return e.message;
  if (e instanceof Error) {
    const code = (e as NodeJS.ErrnoException).code;
    return code && !e.message.includes(code) ? `${e.message} [${code}]` : e.message;
  }
  return String(e);
}

/**
 * At most one line per `intervalMs` (for errors that may come in bursts, like a session store
 * that is down): the first goes out at once; the ones after it within the interval are counted,
 * and the latest is printed at the end of the interval with how many it stands for.
 */
export class RateLimitedLog {
  private last = Number.NEGATIVE_INFINITY;
  private pending: string | undefined;
  private suppressed = 0;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly emit: (line: string) => void,
    private readonly intervalMs = 1000,
    private readonly now: () => number = Date.now,
  ) {}

  log(line: string): void {
    const t = this.now();
    if (this.timer === null && t - this.last >= this.intervalMs) {
      this.last = t;
      this.emit(line);
      return;
    }
    this.pending = line;
    this.suppressed++;
    if (this.timer === null) {
      this.timer = setTimeout(() => this.flush(), Math.max(0, this.last + this.intervalMs - t));
      this.timer.unref();
    }
  }

  /** Prints what is pending now (also at exit). */
  flush(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    if (this.pending === undefined) return;
    const n = this.suppressed;
    const line = this.pending;
    this.pending = undefined;
    this.suppressed = 0;
    this.last = this.now();
    this.emit(n > 1 ? `${line} (and ${n - 1} more like it since the last report)` : line);
  }
}
