import { AlertDescription } from "../alert.js";
import type { ServerConfig } from "../config.js";
import { ExtensionType, HandshakeType, ProtocolVersion } from "../constants.js";
import { TLSError } from "../errors.js";
import { Aead12Protection } from "../record/protection.js";
import {
  decodeSessionState,
  encodeSessionState,
  type SessionState,
  sessionAlive,
} from "../session/session.js";
import { type CipherSuite, suiteById } from "../suites.js";
import { parseCertificate } from "../x509/certificate.js";
// Cyclic with server12/client12 (which start resumption here); used only at call time.
import { ClientEstablished12 } from "./client12.js";
import { expect, type PeerIdentity, unexpected } from "./common.js";
import type { HandshakeContext, HandshakeInfo, HandshakeState, Incoming } from "./context.js";
import { checkFinished12, sendFinished12 } from "./finished12.js";
import type { ClientHello } from "./messages/client-hello.js";
import { alpn, type Extension, empty, renegotiationInfo } from "./messages/extensions.js";
import type { HandshakeMessage } from "./messages/framing.js";
import {
  decodeNewSessionTicket12,
  encodeNewSessionTicket12,
  type NewSessionTicket12,
} from "./messages/new-session-ticket12.js";
import { encodeServerHello, type ServerHello } from "./messages/server-hello.js";
import { DOWNGRADE_TLS12 } from "./messages/tls13.js";
import { afterOr } from "./pending.js";
import { exporter12Secrets, keyBlock12 } from "./prf12.js";
import { chooseAlpn, type Offered, ServerEstablished12 } from "./server12.js";

/**
 * TLS 1.2 session resumption (RFC 5246 §7.3 abbreviated handshake; RFC 5077 tickets; RFC 7627 §5.3):
 *   ClientHello (session id or ticket) → ServerHello (same session id) [NewSessionTicket]
 *   ChangeCipherSpec Finished → ChangeCipherSpec Finished.
 * The server's Finished comes first; the master secret is the session's; fresh randoms give fresh keys.
 */

export type Via12 = "session_id" | "ticket";

/** What a TLS 1.2 session is made of, once a full handshake succeeded. */
export function sessionState12(
  suite: number,
  master: Uint8Array,
  serverName: string | undefined,
  alpnProtocol: string | undefined,
  peer: PeerIdentity | null,
  config: { sessionLifetime: number },
  sessionId: Uint8Array,
): SessionState {
  return {
    version: ProtocolVersion.TLS1_2,
    cipherSuite: suite,
    secret: master,
    extendedMasterSecret: true,
    serverName,
    alpnProtocol,
    peerCertificates: (peer?.certificates ?? []).map((c) => c.der),
    createdAt: Date.now(),
    lifetime: config.sessionLifetime,
    ageAdd: 0,
    maxEarlyData: 0,
    ticket: new Uint8Array(0),
    sessionId,
  };
}

/** The client reads an RFC 5077 NewSessionTicket (before the server's ChangeCipherSpec). */
export function receiveTicket12(ctx: HandshakeContext, msg: HandshakeMessage): NewSessionTicket12 {
  const nst = decodeNewSessionTicket12(msg.body);
  ctx.received("NewSessionTicket", {
    lifetime: `${nst.lifetimeHint}s`,
    ticket: `${nst.ticket.length} bytes`,
  });
  ctx.transcript.add(msg.raw);
  return nst;
}

export function sendTicket12(ctx: HandshakeContext, config: ServerConfig, state: SessionState): void {
  const ticket = config.ticketKeys.seal(encodeSessionState({ ...state, sessionId: new Uint8Array(0) }));
  const remaining = Math.max(1, Math.floor((state.createdAt + state.lifetime * 1000 - Date.now()) / 1000));
  ctx.send(encodeNewSessionTicket12({ lifetimeHint: remaining, ticket }), "NewSessionTicket", {
    lifetime: `${remaining}s`,
    ticket: `${ticket.length} bytes`,
  });
}

/** Keeps a session for its id; a failing store is reported, never fatal. */
export function storeSession12(config: ServerConfig, id: Uint8Array, state: SessionState): void {
  try {
    const r = config.sessionStore.set(id, encodeSessionState(state), state.lifetime);
    if (r instanceof Promise) r.catch(config.onSessionStoreError);
  } catch (e) {
    config.onSessionStoreError(e);
  }
}

/** Whether `state` may resume this ClientHello (anything else means a full handshake). */
function usable(
  config: ServerConfig,
  offered: Offered,
  state: SessionState | undefined,
): state is SessionState {
  if (!state || state.version !== ProtocolVersion.TLS1_2 || !sessionAlive(state, Date.now())) return false;
  const suite = suiteById(state.cipherSuite);
  if (!suite || !config.suites.includes(suite) || !offered.hello.cipherSuites.includes(suite.id))
    return false;
  // RFC 7627 §5.3: both the session and this ClientHello must use the extended master secret.
  if (!state.extendedMasterSecret || !offered.extendedMasterSecret) return false;
  // A server that requires client certificates resumes only sessions that had one.
  if (config.clientAuth === "require" && state.peerCertificates.length === 0) return false;
  // RFC 6066 §3: a session is resumed only for the name it was made for.
  return (state.serverName ?? "") === (offered.serverName ?? "");
}

function decodeOrUndefined(b: Uint8Array | undefined): SessionState | undefined {
  if (!b) return undefined;
  try {
    return decodeSessionState(b);
  } catch {
    return undefined;
  }
}

/** Finds the session the client offers, by ticket (stateless) or by id (the store, maybe async). */
export function resumeOrNot12(
  ctx: HandshakeContext,
  config: ServerConfig,
  hello: ClientHello,
  offered: Offered,
  next: (state: SessionState | undefined, via: Via12 | undefined) => HandshakeState,
): HandshakeState {
  // A ticket is only acknowledged by echoing the session id (RFC 5077 §3.4): without one, no resumption.
  if (
    config.sessionTickets &&
    offered.ticketExt &&
    offered.ticketExt.length > 0 &&
    hello.sessionId.length > 0
  ) {
    const state = decodeOrUndefined(config.ticketKeys.open(offered.ticketExt));
    if (usable(config, offered, state)) {
      if (!config.singleUseTickets) return next(state, "ticket");
      const id = ctx.crypto.hash("sha256", offered.ticketExt);
      return afterOr(
        () => config.sessionStore.markUsed(id, state.lifetime),
        false,
        config.onSessionStoreError,
        (fresh) => (fresh ? next(state, "ticket") : next(undefined, undefined)),
      );
    }
  }
  if (config.sessionIds && hello.sessionId.length > 0) {
    return afterOr(
      () => config.sessionStore.get(hello.sessionId),
      undefined,
      config.onSessionStoreError,
      (bytes) => {
        const state = decodeOrUndefined(bytes);
        return usable(config, offered, state) ? next(state, "session_id") : next(undefined, undefined);
      },
    );
  }
  return next(undefined, undefined);
}

/** The server's side of the abbreviated handshake. */
export function abbreviatedServer12(
  ctx: HandshakeContext,
  config: ServerConfig,
  msg: HandshakeMessage,
  hello: ClientHello,
  offered: Offered,
  state: SessionState,
  via: Via12,
): HandshakeState {
  const suite = suiteById(state.cipherSuite)!;
  const alpnProtocol = chooseAlpn(config, offered);
  ctx.setVersion(ProtocolVersion.TLS1_2);
  ctx.transcript.add(msg.raw);
  const serverRandom = ctx.crypto.random(32);
  if (config.maxVersion >= ProtocolVersion.TLS1_3) serverRandom.set(DOWNGRADE_TLS12, 24);
  const renew = via === "ticket";
  const extensions: Extension[] = [];
  if (offered.secureRenegotiation)
    extensions.push({
      type: ExtensionType.renegotiation_info,
      data: renegotiationInfo.encode(new Uint8Array(0)),
    });
  extensions.push({ type: ExtensionType.extended_master_secret, data: empty.encode() });
  if (alpnProtocol !== undefined)
    extensions.push({
      type: ExtensionType.application_layer_protocol_negotiation,
      data: alpn.encode([alpnProtocol]),
    });
  if (renew) extensions.push({ type: ExtensionType.session_ticket, data: new Uint8Array(0) });
  // RFC 6066 §3: no server_name in a resumed ServerHello.
  const sh: ServerHello = {
    legacyVersion: ProtocolVersion.TLS1_2,
    random: serverRandom,
    sessionId: hello.sessionId,
    cipherSuite: suite.id,
    compressionMethod: 0,
    extensions,
  };
  ctx.send(encodeServerHello(sh), "ServerHello", { version: "TLSv1.2", suite: suite.name, resumption: via });
  if (renew) sendTicket12(ctx, config, state);
  const keys = keyBlock12(
    ctx.crypto,
    suite.hash,
    state.secret,
    hello.random,
    serverRandom,
    suite.keyLength,
    suite.fixedIvLength,
  );
  // A key log line for every connection, resumed ones too (their client random is new).
  ctx.keylog("CLIENT_RANDOM", hello.random, state.secret);
  ctx.sendChangeCipherSpec(new Aead12Protection(ctx.crypto, suite, keys.serverWriteKey, keys.serverWriteIv));
  sendFinished12(ctx, suite.hash, state.secret, "server");
  const r: Resumed12 = {
    suite,
    state,
    via,
    alpnProtocol,
    clientRandom: hello.random,
    serverRandom,
    serverName: offered.serverName,
    read: new Aead12Protection(ctx.crypto, suite, keys.clientWriteKey, keys.clientWriteIv),
    verifiedByClient: false,
  };
  return new ExpectPeerCcs(r, "client", null);
}

interface Resumed12 {
  readonly suite: CipherSuite;
  readonly state: SessionState;
  readonly via: Via12;
  readonly alpnProtocol: string | undefined;
  readonly clientRandom: Uint8Array;
  readonly serverRandom: Uint8Array;
  readonly serverName: string | undefined;
  /** The peer's write keys, to switch to at its ChangeCipherSpec. */
  readonly read: Aead12Protection;
  /** Client side: whether this client verifies server chains (it re-verified the session's). */
  readonly verifiedByClient: boolean;
}

/** The peer's ChangeCipherSpec in an abbreviated handshake (for the client, an optional NewSessionTicket first). */
class ExpectPeerCcs implements HandshakeState {
  readonly name = "ExpectChangeCipherSpec";
  constructor(
    private readonly r: Resumed12,
    private readonly peer: "client" | "server",
    /** Client: whether a NewSessionTicket may come first, and where it goes. */
    private readonly ticket: { expected: boolean; received?: Uint8Array; lifetime?: number } | null,
  ) {}
  handle(ctx: HandshakeContext, input: Incoming): HandshakeState {
    if (
      this.ticket?.expected &&
      input.kind === "handshake" &&
      input.msg.type === HandshakeType.new_session_ticket
    ) {
      const nst = receiveTicket12(ctx, input.msg);
      return new ExpectPeerCcs(this.r, this.peer, {
        expected: false,
        received: nst.ticket,
        lifetime: nst.lifetimeHint,
      });
    }
    if (input.kind !== "ccs") throw unexpected(this.name, input);
    if (this.ticket?.expected)
      throw TLSError.local(AlertDescription.unexpected_message, "NewSessionTicket missing (RFC 5077)");
    ctx.received("ChangeCipherSpec");
    ctx.changeReadProtection(this.r.read);
    return new ExpectPeerFinished(this.r, this.peer, this.ticket);
  }
}

class ExpectPeerFinished implements HandshakeState {
  readonly name = "ExpectFinished";
  constructor(
    private readonly r: Resumed12,
    private readonly peer: "client" | "server",
    private readonly ticket: { received?: Uint8Array; lifetime?: number } | null,
  ) {}
  handle(ctx: HandshakeContext, input: Incoming): HandshakeState {
    const { r } = this;
    const msg = expect(this.name, input, HandshakeType.finished);
    checkFinished12(ctx, msg, r.suite.hash, r.state.secret, this.peer);
    if (this.peer === "server") {
      // The client answers: ChangeCipherSpec and its Finished.
      const keys = keyBlock12(
        ctx.crypto,
        r.suite.hash,
        r.state.secret,
        r.clientRandom,
        r.serverRandom,
        r.suite.keyLength,
        r.suite.fixedIvLength,
      );
      ctx.sendChangeCipherSpec(
        new Aead12Protection(ctx.crypto, r.suite, keys.clientWriteKey, keys.clientWriteIv),
      );
      sendFinished12(ctx, r.suite.hash, r.state.secret, "client");
    }
    const certificates = r.state.peerCertificates.map((der) => parseCertificate(der));
    const info: HandshakeInfo = {
      version: ProtocolVersion.TLS1_2,
      protocol: "TLSv1.2",
      cipherSuite: r.suite,
      ...(r.serverName !== undefined ? { serverName: r.serverName } : {}),
      ...(r.alpnProtocol !== undefined ? { alpnProtocol: r.alpnProtocol } : {}),
      peerCertificates: certificates,
      // Client: the chain was verified again before the session was offered (client.ts); server:
      // the client's chain was verified when the session was made.
      peerVerified: certificates.length > 0 && (this.peer === "client" || r.verifiedByClient),
      ...(certificates[0] ? { peerPublicKey: ctx.crypto.importPublicKey(certificates[0].spki) } : {}),
      extendedMasterSecret: true,
      clientCertificateRequested: false,
      resumed: true,
      resumedWith: r.via,
      clientRandom: r.clientRandom,
      serverRandom: r.serverRandom,
    };
    ctx.complete(
      info,
      exporter12Secrets(ctx.crypto, r.suite.hash, r.state.secret, r.clientRandom, r.serverRandom),
    );
    if (this.peer === "server") {
      // A renewed ticket replaces the old one; the session id stays.
      const ticket = this.ticket?.received;
      ctx.session({
        ...r.state,
        ...(ticket && ticket.length > 0
          ? { ticket, createdAt: Date.now(), lifetime: this.ticket?.lifetime ?? r.state.lifetime }
          : {}),
      });
    }
    return this.peer === "server" ? new ClientEstablished12() : new ServerEstablished12();
  }
}

/** The client's side: the server echoed our session id, so it resumes the session we offered. */
export function abbreviatedClient12(
  ctx: HandshakeContext,
  state: SessionState,
  sh: ServerHello,
  msg: HandshakeMessage,
  hello: ClientHello,
  ext: { extendedMasterSecret: boolean; alpnProtocol: string | undefined; ticket: boolean },
  serverName: string | undefined,
  verifies: boolean,
): HandshakeState {
  if (sh.cipherSuite !== state.cipherSuite) {
    throw TLSError.local(AlertDescription.illegal_parameter, "resumed session with another cipher suite");
  }
  // RFC 7627 §5.3: the resumed session must keep the extended master secret.
  if (!ext.extendedMasterSecret)
    throw TLSError.local(AlertDescription.handshake_failure, "resumption without extended_master_secret");
  const suite = suiteById(state.cipherSuite)!;
  ctx.setVersion(ProtocolVersion.TLS1_2);
  ctx.transcript.add(msg.raw);
  const keys = keyBlock12(
    ctx.crypto,
    suite.hash,
    state.secret,
    hello.random,
    sh.random,
    suite.keyLength,
    suite.fixedIvLength,
  );
  ctx.keylog("CLIENT_RANDOM", hello.random, state.secret);
  const r: Resumed12 = {
    suite,
    state,
    via: state.ticket.length > 0 ? "ticket" : "session_id",
    alpnProtocol: ext.alpnProtocol,
    clientRandom: hello.random,
    serverRandom: sh.random,
    serverName,
    read: new Aead12Protection(ctx.crypto, suite, keys.serverWriteKey, keys.serverWriteIv),
    verifiedByClient: verifies,
  };
  return new ExpectPeerCcs(r, "server", { expected: ext.ticket });
}
