import { AlertDescription } from "../alert.js";
import type { ServerConfig } from "../config.js";
import { ExtensionType } from "../constants.js";
import type { CryptoProvider } from "../crypto/provider.js";
import { TLSError } from "../errors.js";
import { decodeSessionState, type SessionState, sessionAlive } from "../session/session.js";
import { type CipherSuite13, suite13ById } from "../suites.js";
import { concat, constantTimeEqual } from "../wire/bytes.js";
import { pskBinder } from "./keyschedule13.js";
import type { ClientHello } from "./messages/client-hello.js";
import {
  findExtension,
  PskKeyExchangeMode,
  preSharedKey,
  pskKeyExchangeModes,
} from "./messages/extensions.js";

/**
 * TLS 1.3 resumption with a PSK from a ticket (RFC 8446 §4.2.9-4.2.11, §4.6.1), server side:
 * which offered identity to accept, if any. Anything that does not fit (unknown or rotated-out
 * ticket key, tampered ticket, expired, other SNI, other hash, ticket age off) means "no PSK": a
 * full handshake, never an error. A wrong binder for a ticket we can open is decrypt_error (§4.2.11).
 */

/** How far the client's view of the ticket age may be from ours (RFC 8446 §8.3 suggests seconds). */
const AGE_TOLERANCE_MS = 10_000;

export interface AcceptedPsk {
  readonly index: number;
  readonly state: SessionState;
  readonly suite: CipherSuite13;
  /** psk_dhe_ke (a fresh key exchange too) or psk_ke. */
  readonly dhe: boolean;
  /** What identifies the ticket for single-use records. */
  readonly ticketId: Uint8Array;
}

/** The psk_key_exchange_modes the client offers, or null when it sends none. */
export function clientPskModes(hello: ClientHello): number[] | null {
  const m = findExtension(hello.extensions, ExtensionType.psk_key_exchange_modes);
  return m ? pskKeyExchangeModes.decode(m) : null;
}

/**
 * @param raw the ClientHello as received (with its header); @param prefix the transcript before it
 * (empty, or message_hash + HelloRetryRequest); @param fixedSuite after a HelloRetryRequest, the suite.
 */
export function choosePsk(
  crypto: CryptoProvider,
  config: ServerConfig,
  hello: ClientHello,
  raw: Uint8Array,
  prefix: Uint8Array,
  serverName: string | undefined,
  fixedSuite: CipherSuite13 | undefined,
  now = Date.now(),
): AcceptedPsk | undefined {
  const ext = findExtension(hello.extensions, ExtensionType.pre_shared_key);
  if (!ext) return undefined;
  // §4.2.11: pre_shared_key MUST be the last extension of the ClientHello.
  if (hello.extensions.at(-1)?.type !== ExtensionType.pre_shared_key) {
    throw TLSError.local(AlertDescription.illegal_parameter, "pre_shared_key is not the last extension");
  }
  const modes = clientPskModes(hello);
  if (!modes)
    throw TLSError.local(AlertDescription.missing_extension, "pre_shared_key without psk_key_exchange_modes");
  const offered = preSharedKey.decodeClient(ext);
  if (!config.sessionTickets) return undefined;
  // psk_ke (no new key exchange, so no forward secrecy for the resumed session) only when the
  // operator allows it, and then it is preferred: that is what allowing it is for.
  const pskOnly = config.allowPskOnlyResumption && modes.includes(PskKeyExchangeMode.psk_ke);
  const dhe = !pskOnly && modes.includes(PskKeyExchangeMode.psk_dhe_ke);
  if (!dhe && !pskOnly) return undefined;

  for (let i = 0; i < offered.identities.length; i++) {
    const id = offered.identities[i]!;
    const opened = config.ticketKeys.open(id.identity);
    if (!opened) continue;
    let state: SessionState;
    try {
      state = decodeSessionState(opened);
    } catch {
      continue;
    }
    if (state.version !== 0x0304 || !sessionAlive(state, now)) continue;
    if ((state.serverName ?? "") !== (serverName ?? "")) continue; // RFC 6066 §3: same name only
    // A server that requires client certificates resumes only sessions that had one.
    if (config.clientAuth === "require" && state.peerCertificates.length === 0) continue;
    const original = suite13ById(state.cipherSuite);
    if (!original) continue;
    // The suite must have the PSK's hash; prefer the session's own suite.
    const candidates = fixedSuite
      ? [fixedSuite]
      : [original, ...config.suites13.filter((s) => s !== original)].filter(
          (s) => hello.cipherSuites.includes(s.id) && config.suites13.includes(s),
        );
    const suite = candidates.find((s) => s.hash === original.hash);
    if (!suite) continue;
    // §4.6.1 / §8.3: the client's ticket age, de-obfuscated, must agree with ours.
    const clientAge = (id.obfuscatedTicketAge - state.ageAdd) >>> 0;
    if (Math.abs(clientAge - (now - state.createdAt)) > AGE_TOLERANCE_MS) continue;
    // §4.2.11.2: the binder covers the transcript up to the binders list.
    const truncated = raw.subarray(0, raw.length - preSharedKey.bindersLength(offered.binders));
    const expected = pskBinder(
      crypto,
      suite.hash,
      state.secret,
      crypto.hash(suite.hash, concat(prefix, truncated)),
    );
    if (!constantTimeEqual(expected, offered.binders[i]!)) {
      throw TLSError.local(AlertDescription.decrypt_error, "PSK binder does not verify");
    }
    return { index: i, state, suite, dhe, ticketId: crypto.hash("sha256", id.identity) };
  }
  return undefined;
}
