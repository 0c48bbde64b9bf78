/**
 * --sess-in / --sess-out: a client session in a file, as TLSSession.toString() (base64) on one
 * line. The file holds the session's secret, so it is written with mode 0600, and replaced
 * atomically (a reader never sees half a session).
 */
import { readFileSync } from "node:fs";
import type { ClientConfig } from "../config.js";
import { ProtocolVersion } from "../constants.js";
import { TLSError } from "../errors.js";
import { TLSSession } from "../session/client-session.js";
import { suite13ById, suiteById } from "../suites.js";
import { writePrivateFile } from "./private-file.js";

/** Reads a session; any problem is a reason (the caller warns and does a full handshake). */
export function readSessionFile(path: string): { session: TLSSession } | { problem: string } {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    return { problem: `cannot read it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})` };
  }
  if (text.trim().length === 0) return { problem: "the file is empty" };
  try {
    return { session: TLSSession.from(text.trim()) };
  } catch {
    return { problem: "not a TypeTLS session (corrupt, or written by another program)" };
  }
}

/**
 * Why the client would not offer `session` to `serverName` with `config`, or undefined when it
 * will. The same conditions as the library's (which skips such a session silently).
 */
export function sessionUnusable(
  session: TLSSession,
  config: ClientConfig,
  serverName: string,
  now = Date.now(),
): string | undefined {
  const st = session.state;
  if (!session.isResumable(now)) {
    return now >= session.expiresAt
      ? `the session expired at ${new Date(session.expiresAt).toISOString()}`
      : "the session has neither a ticket nor a session id";
  }
  if ((st.serverName ?? "") !== serverName)
    return `the session is for ${st.serverName !== undefined ? `"${st.serverName}"` : "no server name"}, not "${serverName}"`;
  if (st.version === ProtocolVersion.TLS1_3) {
    if (config.maxVersion < ProtocolVersion.TLS1_3)
      return "it is a TLS 1.3 session and TLS 1.3 is not enabled";
    const original = suite13ById(st.cipherSuite);
    if (!original || !config.suites13.some((s) => s.hash === original.hash))
      return `no enabled TLS 1.3 suite has the hash of ${session.cipherSuite}`;
  } else {
    if (config.minVersion > ProtocolVersion.TLS1_2)
      return "it is a TLS 1.2 session and TLS 1.2 is not enabled";
    const suite = suiteById(st.cipherSuite);
    if (!suite || !config.suites.includes(suite)) return `its suite ${session.cipherSuite} is not enabled`;
    if (!st.extendedMasterSecret) return "it has no extended master secret (RFC 7627 §5.3)";
    // With a ticket the client sends a fresh session id (RFC 5077 §3.4): no ticket, no resumption.
    if (st.ticket.length > 0 && !config.sessionTickets)
      return "it holds a ticket and session tickets are off";
  }
  // The library takes a resumed session's server as verified (a session made with --insecure
  // included), so the chain the session remembers is checked here against this run's trust
  // anchors and name, as a full handshake would check it.
  if (config.verifier !== null) {
    if (st.peerCertificates.length === 0) return "it holds no server certificate to verify";
    try {
      config.verifier.verify(st.peerCertificates, { purpose: "serverAuth", hostname: serverName });
    } catch (e) {
      const why = e instanceof TLSError ? e.code : e instanceof Error ? e.message : String(e);
      return `its server certificate does not verify with these trust anchors and name (${why})`;
    }
  }
  return undefined;
}

/** "TLSv1.3 ticket", "TLSv1.2 ticket + session id", "TLSv1.2 session id". */
export function describeSession(session: TLSSession): string {
  const st = session.state;
  const kinds: string[] = [];
  if (st.ticket.length > 0) kinds.push("ticket");
  if (st.version !== ProtocolVersion.TLS1_3 && st.sessionId.length > 0) kinds.push("session id");
  return `${session.protocol} ${kinds.join(" + ") || "session"}, ${session.cipherSuite}`;
}

/** Writes one line of base64, mode 0600, replacing the file atomically. */
export function writeSessionFile(path: string, session: TLSSession): void {
  writePrivateFile(path, `${session.toString()}\n`);
}
