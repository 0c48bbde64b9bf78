/**
 * `typetls server --ticket-keys FILE [--ticket-rotate SECONDS]`: the session ticket key ring in a
 * JSON file (TicketKeyRing.toJSON), so that several server processes seal and open the same
 * tickets, and a restart does not invalidate them.
 *
 * - A missing file is created with a fresh ring (mode 0600, exclusively: of two servers starting
 *   together one creates it and the other reads it).
 * - With rotation, a server whose current key is older than the period makes a new one, keeps the
 *   previous ones (2 by default) and rewrites the file atomically, under a lock file so that two
 *   servers do not both rotate. The others notice the file changed (it is polled) and load it: a
 *   ticket sealed by any of them opens on all of them.
 */
import { closeSync, openSync, readFileSync, statSync, unlinkSync, writeSync } from "node:fs";
import type { CryptoProvider } from "../crypto/provider.js";
import { type TicketKey, TicketKeyRing } from "../session/ticket-keys.js";
import { UsageError } from "./args.js";
import { writePrivateFile } from "./private-file.js";

/** A lock older than this is left over from a crashed process and is taken over. */
const STALE_LOCK_MS = 10_000;

/** An errno code, or the message (without the alert a TLSError names: there is no peer here). */
function errCode(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  if (typeof code === "string" && !code.startsWith("ERR_TLS")) return code;
  return (e instanceof Error ? e.message : String(e)).replace(/ \((sent|peer sent) \w+\)$/, "");
}

function parseKeys(path: string, text: string): TicketKey[] {
  try {
    return TicketKeyRing.parse(text);
  } catch (e) {
    throw new UsageError(`--ticket-keys ${path}: ${errCode(e)}`);
  }
}

export class TicketKeyFile {
  readonly ring: TicketKeyRing;
  private timer: NodeJS.Timeout | null = null;
  private mtimeMs: number;
  /** What happened, for the server's stderr: "created", "loaded 3 keys" ... */
  readonly origin: string;

  private constructor(
    readonly path: string,
    ring: TicketKeyRing,
    origin: string,
  ) {
    this.ring = ring;
    this.origin = origin;
    this.mtimeMs = this.stat();
  }

  /** Loads the file, or creates it with a fresh ring. Unreadable or invalid: a UsageError (exit 2). */
  static open(path: string, crypto: CryptoProvider, keep = 2): TicketKeyFile {
    let text: string | undefined;
    try {
      text = readFileSync(path, "utf8");
    } catch (e) {
      if (errCode(e) !== "ENOENT") throw new UsageError(`--ticket-keys ${path}: ${errCode(e)}`);
    }
    if (text === undefined) {
      const ring = new TicketKeyRing(crypto, undefined, keep);
      try {
        const fd = openSync(path, "wx", 0o600);
        try {
          writeSync(fd, `${ring.toJSON()}\n`);
        } finally {
          closeSync(fd);
        }
        return new TicketKeyFile(path, ring, "created with a new key");
      } catch (e) {
        // Another server created it first: use that one.
        if (errCode(e) !== "EEXIST") throw new UsageError(`--ticket-keys ${path}: ${errCode(e)}`);
        text = readFileSync(path, "utf8");
      }
    }
    const keys = parseKeys(path, text);
    const ring = new TicketKeyRing(crypto, keys, keep);
    return new TicketKeyFile(path, ring, `loaded ${keys.length} key${keys.length === 1 ? "" : "s"}`);
  }

  private stat(): number {
    try {
      return statSync(this.path).mtimeMs;
    } catch {
      return 0;
    }
  }

  /** Loads the file again if it changed since we last read or wrote it. */
  reloadIfChanged(): boolean {
    const m = this.stat();
    if (m === 0 || m === this.mtimeMs) return false;
    const keys = TicketKeyRing.parse(readFileSync(this.path, "utf8"));
    this.ring.replace(keys);
    this.mtimeMs = m;
    return true;
  }

  /** Rotates when the current key is older than `periodMs` (and nobody else did). True if we did. */
  rotateIfDue(periodMs: number, now = Date.now()): boolean {
    if (now - (this.ring.all[0]?.createdAt ?? 0) < periodMs) return false;
    const lock = `${this.path}.lock`;
    let fd: number;
    try {
      fd = openSync(lock, "wx", 0o600);
    } catch (e) {
      if (errCode(e) !== "EEXIST") throw e;
      try {
        if (now - statSync(lock).mtimeMs > STALE_LOCK_MS) unlinkSync(lock);
      } catch {
        // gone already
      }
      return false; // another server is rotating: its file will be loaded on the next check
    }
    try {
      // Under the lock: the newest keys are the file's (another server may have rotated).
      this.reloadIfChanged();
      if (now - (this.ring.all[0]?.createdAt ?? 0) < periodMs) return false;
      this.ring.rotate();
      writePrivateFile(this.path, `${this.ring.toJSON()}\n`);
      this.mtimeMs = this.stat();
      return true;
    } finally {
      closeSync(fd);
      try {
        unlinkSync(lock);
      } catch {
        // removed as stale by another process
      }
    }
  }

  /**
   * Every `periodSeconds`, rotate (when due) and rewrite the file; in between, pick up the
   * other servers' rotations. `report` gets one line per event and per failure.
   */
  startRotation(periodSeconds: number, report: (line: string, isError: boolean) => void): void {
    const periodMs = periodSeconds * 1000;
    // Checked a few times per period, so that the servers sharing the file stay close together.
    const checkMs = Math.max(100, Math.min(periodMs / 4, 5_000));
    this.timer = setInterval(() => {
      try {
        if (this.reloadIfChanged()) report(`ticket keys reloaded from ${this.path}`, false);
        if (this.rotateIfDue(periodMs))
          report(`ticket keys rotated (${this.ring.all.length} in ${this.path})`, false);
      } catch (e) {
        report(`ticket keys ${this.path}: ${errCode(e)} (keeping the current keys)`, true);
      }
    }, checkMs);
    this.timer.unref();
  }

  /** Without rotation, still follow the file (another server may rotate it). */
  startFollowing(report: (line: string, isError: boolean) => void, everyMs = 1_000): void {
    this.timer = setInterval(() => {
      try {
        if (this.reloadIfChanged()) report(`ticket keys reloaded from ${this.path}`, false);
      } catch (e) {
        report(`ticket keys ${this.path}: ${errCode(e)} (keeping the current keys)`, true);
      }
    }, everyMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}
