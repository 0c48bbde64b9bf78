import { AlertDescription } from "../alert.js";
import type { ClientConfig } from "../config.js";
import { ExtensionType, HandshakeType, ProtocolVersion, versionName } from "../constants.js";
import type { KeyShare } from "../crypto/provider.js";
import { hashLength } from "../crypto/provider.js";
import { TLSError } from "../errors.js";
import { Aead13Protection } from "../record/protection.js";
import { type SessionState, sessionAlive } from "../session/session.js";
import { type CipherSuite13, suite13ById, suiteById } from "../suites.js";
import { concat, equalBytes } from "../wire/bytes.js";
import { type Offer, serverHello12 } from "./client12.js";
import { serverHello13 } from "./client13.js";
import { expect } from "./common.js";
import type { HandshakeContext, HandshakeState, Incoming } from "./context.js";
import { KeySchedule13, pskBinder, trafficKeys } from "./keyschedule13.js";
import { type ClientHello, describeClientHello, encodeClientHello } from "./messages/client-hello.js";
import {
  alpn,
  type Extension,
  ecPointFormats,
  empty,
  findExtension,
  keyShare,
  PskKeyExchangeMode,
  preSharedKey,
  pskKeyExchangeModes,
  renegotiationInfo,
  signatureAlgorithms,
  serverName as sniExt,
  supportedGroups,
  supportedVersions,
} from "./messages/extensions.js";
import type { HandshakeMessage } from "./messages/framing.js";
import { decodeServerHello, describeServerHello } from "./messages/server-hello.js";
import { DOWNGRADE_TLS11, DOWNGRADE_TLS12 } from "./messages/tls13.js";

/**
 * The client's first step, common to both versions: seed step 1, the ClientHello, offering every
 * version from maxVersion down to minVersion; then the ServerHello decides which state machine
 * (client12.ts or client13.ts) goes on.
 */

const IP_LITERAL = /^(\d{1,3}(\.\d{1,3}){3}|[0-9a-fA-F:]*:[0-9a-fA-F:.]*)$/;

/** What a TLS 1.3 offer adds: the key shares we sent (their private halves). */
export interface Offer13 extends Offer {
  readonly shares: readonly KeyShare[];
  /** A TLS 1.3 session offered for resumption (pre_shared_key), with the suite it came from. */
  readonly psk: { state: SessionState; suite: CipherSuite13 } | undefined;
  /** 0-RTT: early data went out under the early keys (and with it the dummy ChangeCipherSpec). */
  readonly early?: { readonly ccsSent: boolean } | undefined;
}

/**
 * RFC 8446 §4.2.11: puts pre_shared_key last, with the binder over the ClientHello up to the
 * binders (after `prefix`, the transcript before it: empty, or message_hash + HelloRetryRequest).
 */
export function helloWithPsk(
  ctx: HandshakeContext,
  hello: ClientHello,
  psk: { state: SessionState; suite: CipherSuite13 },
  prefix: Uint8Array,
): { hello: ClientHello; msg: HandshakeMessage } {
  const { state, suite } = psk;
  const identity = {
    identity: state.ticket,
    obfuscatedTicketAge: (Date.now() - state.createdAt + state.ageAdd) >>> 0,
  };
  const placeholder = new Uint8Array(hashLength(suite.hash));
  const base = hello.extensions.filter((e) => e.type !== ExtensionType.pre_shared_key);
  const draft: ClientHello = {
    ...hello,
    extensions: [
      ...base,
      { type: ExtensionType.pre_shared_key, data: preSharedKey.encodeClient([identity], [placeholder]) },
    ],
  };
  const raw = encodeClientHello(draft).raw;
  const truncated = raw.subarray(0, raw.length - preSharedKey.bindersLength([placeholder]));
  const binder = pskBinder(
    ctx.crypto,
    suite.hash,
    state.secret,
    ctx.crypto.hash(suite.hash, concat(prefix, truncated)),
  );
  const final: ClientHello = {
    ...hello,
    extensions: [
      ...base,
      { type: ExtensionType.pre_shared_key, data: preSharedKey.encodeClient([identity], [binder]) },
    ],
  };
  return { hello: final, msg: encodeClientHello(final) };
}

function sessionTrusted(
  config: ClientConfig,
  session: SessionState,
  serverName: string | undefined,
): boolean {
  if (!config.verifier) return true; // verification is off: nothing to keep
  if (session.peerCertificates.length === 0) return false;
  try {
    config.verifier.verify(
      session.peerCertificates,
      serverName !== undefined ? { purpose: "serverAuth", hostname: serverName } : { purpose: "serverAuth" },
    );
    return true;
  } catch {
    return false;
  }
}

export function startClient(
  ctx: HandshakeContext,
  config: ClientConfig,
  serverName: string | undefined,
  session?: SessionState,
  earlyData?: Uint8Array,
): HandshakeState {
  const offer13 = config.maxVersion >= ProtocolVersion.TLS1_3;
  const offer12 = config.minVersion <= ProtocolVersion.TLS1_2;
  // A session is offered only if this client would accept its server now: its remembered chain is
  // verified again with this configuration and name (a session from an unverified or differently
  // configured connection must not pass for a verified one).
  if (session && !sessionTrusted(config, session, serverName)) session = undefined;
  // A TLS 1.3 session is offered if it is alive, for this name, and its hash is still enabled.
  const original =
    session && session.version === ProtocolVersion.TLS1_3 ? suite13ById(session.cipherSuite) : undefined;
  const psk =
    offer13 &&
    session &&
    original &&
    sessionAlive(session, Date.now()) &&
    session.ticket.length > 0 &&
    (session.serverName ?? "") === (serverName ?? "") &&
    config.suites13.some((s) => s.hash === original.hash)
      ? { state: session, suite: original }
      : undefined;
  // A TLS 1.2 session, by its id or its ticket (RFC 5077), under the same conditions.
  const suite12 =
    session && session.version === ProtocolVersion.TLS1_2 ? suiteById(session.cipherSuite) : undefined;
  const session12 =
    offer12 &&
    session &&
    suite12 &&
    config.suites.includes(suite12) &&
    session.extendedMasterSecret &&
    sessionAlive(session, Date.now()) &&
    (session.serverName ?? "") === (serverName ?? "") &&
    ((session.ticket.length > 0 && config.sessionTickets) || session.sessionId.length > 0)
      ? { ...session, ticket: config.sessionTickets ? session.ticket : new Uint8Array(0) }
      : undefined;
  const clientRandom = ctx.crypto.random(32);
  const shares = offer13 ? config.keyShareGroups.map((g) => ctx.crypto.keyShare(g)) : [];

  const extensions: Extension[] = [];
  const sni =
    serverName !== undefined && !IP_LITERAL.test(serverName) ? serverName.replace(/\.$/, "") : undefined;
  if (sni !== undefined) extensions.push({ type: ExtensionType.server_name, data: sniExt.encode(sni) });
  if (offer13) {
    const versions = offer12 ? [ProtocolVersion.TLS1_3, ProtocolVersion.TLS1_2] : [ProtocolVersion.TLS1_3];
    extensions.push({
      type: ExtensionType.supported_versions,
      data: supportedVersions.encodeClient(versions),
    });
  }
  extensions.push({
    type: ExtensionType.supported_groups,
    data: supportedGroups.encode(offer13 ? config.groups : config.groups12),
  });
  if (offer13) {
    extensions.push({
      type: ExtensionType.key_share,
      data: keyShare.encodeClient(shares.map((s) => ({ group: s.group, keyExchange: s.publicKey }))),
    });
  }
  if (offer12) extensions.push({ type: ExtensionType.ec_point_formats, data: ecPointFormats.encode() });
  extensions.push({
    type: ExtensionType.signature_algorithms,
    data: signatureAlgorithms.encode(config.signatureSchemes),
  });
  if (config.alpnProtocols.length > 0) {
    extensions.push({
      type: ExtensionType.application_layer_protocol_negotiation,
      data: alpn.encode(config.alpnProtocols),
    });
  }
  if (offer12 && config.sessionTickets) {
    extensions.push({ type: ExtensionType.session_ticket, data: session12?.ticket ?? new Uint8Array(0) });
  }
  if (offer12) {
    extensions.push({ type: ExtensionType.extended_master_secret, data: empty.encode() });
    extensions.push({
      type: ExtensionType.renegotiation_info,
      data: renegotiationInfo.encode(new Uint8Array(0)),
    });
  }
  if (offer13) {
    // Lets the server send NewSessionTicket (RFC 8446 §4.2.9); resumption with psk_dhe_ke only.
    extensions.push({
      type: ExtensionType.psk_key_exchange_modes,
      data: pskKeyExchangeModes.encode([PskKeyExchangeMode.psk_dhe_ke]),
    });
  }
  const hello: ClientHello = {
    legacyVersion: ProtocolVersion.TLS1_2,
    random: clientRandom,
    // RFC 8446 §D.4 middlebox compatibility mode: a non-empty legacy_session_id.
    // With a TLS 1.2 ticket, a fresh id the server echoes to accept it (RFC 5077 §3.4).
    sessionId:
      session12 && session12.ticket.length === 0
        ? session12.sessionId
        : (offer13 && config.middleboxCompatibility) || (session12 && session12.ticket.length > 0)
          ? ctx.crypto.random(32)
          : new Uint8Array(0),
    cipherSuites: [
      ...(offer13 ? config.suites13.map((s) => s.id) : []),
      ...(offer12 ? config.suites.map((s) => s.id) : []),
    ],
    compressionMethods: [0],
    extensions,
  };
  if (psk) {
    // 0-RTT (RFC 8446 §4.2.10): only what the ticket allows, only with its suite.
    const early =
      earlyData !== undefined && earlyData.length > 0 && earlyData.length <= psk.state.maxEarlyData
        ? earlyData
        : undefined;
    if (early) hello.extensions.push({ type: ExtensionType.early_data, data: new Uint8Array(0) });
    const withPsk = helloWithPsk(ctx, hello, psk, new Uint8Array(0));
    ctx.send(withPsk.msg, "ClientHello", {
      ...describeClientHello(withPsk.hello),
      resumption: "offered (TLS 1.3 ticket)",
      ...(early ? { early_data: `${early.length} bytes` } : {}),
    });
    let sentEarly: { ccsSent: boolean } | undefined;
    if (early) {
      const secret = new KeySchedule13(ctx.crypto, psk.suite.hash, psk.state.secret).clientEarlyTraffic(
        ctx.transcript.hash(ctx.crypto, psk.suite.hash),
      );
      ctx.keylog("CLIENT_EARLY_TRAFFIC_SECRET", clientRandom, secret);
      const k = trafficKeys(ctx.crypto, psk.suite.hash, secret, psk.suite.keyLength);
      // Every record after the ClientHello says 0x0303 (§5.1).
      ctx.setRecordVersion(ProtocolVersion.TLS1_2);
      // Middlebox compatibility: the dummy ChangeCipherSpec right after the ClientHello (§D.4).
      const ccsSent = withPsk.hello.sessionId.length > 0;
      if (ccsSent) ctx.sendCompatibilityCcs();
      ctx.changeWriteProtection(new Aead13Protection(ctx.crypto, psk.suite.aead, k.key, k.iv));
      ctx.sendEarlyData(early);
      sentEarly = { ccsSent };
    }
    return new ExpectServerHello({
      config,
      serverName,
      hello: withPsk.hello,
      clientRandom,
      shares,
      psk,
      session12,
      early: sentEarly,
    });
  }
  ctx.send(encodeClientHello(hello), "ClientHello", describeClientHello(hello));
  return new ExpectServerHello({
    config,
    serverName,
    hello,
    clientRandom,
    shares,
    psk: undefined,
    session12,
  });
}

/** State after step 1: waiting for the ServerHello (step 2), which names the version. */
class ExpectServerHello implements HandshakeState {
  readonly name = "ExpectServerHello";
  constructor(private readonly offer: Offer13) {}

  handle(ctx: HandshakeContext, input: Incoming): HandshakeState {
    const msg = expect(this.name, input, HandshakeType.server_hello);
    const sh = decodeServerHello(msg.body);
    const { config } = this.offer;
    const sv = findExtension(sh.extensions, ExtensionType.supported_versions);
    if (sv) {
      // RFC 8446 §4.2.1: only TLS 1.3 is negotiated this way, and only if we offered it.
      const v = supportedVersions.decodeServer(sv);
      if (
        v !== ProtocolVersion.TLS1_3 ||
        config.maxVersion < ProtocolVersion.TLS1_3 ||
        sh.legacyVersion !== ProtocolVersion.TLS1_2
      ) {
        throw TLSError.local(
          AlertDescription.illegal_parameter,
          `server selected ${versionName(v)} in supported_versions`,
        );
      }
      return serverHello13(ctx, this.offer, msg, sh);
    }
    ctx.received("ServerHello", describeServerHello(sh));
    const v = sh.legacyVersion;
    if (v !== ProtocolVersion.TLS1_2 || config.minVersion > ProtocolVersion.TLS1_2) {
      throw TLSError.local(
        AlertDescription.protocol_version,
        `server chose ${versionName(v)}, which was not offered`,
      );
    }
    // RFC 8446 §4.1.3: a TLS 1.3 client that lands on TLS 1.2 checks the downgrade sentinels.
    if (config.maxVersion >= ProtocolVersion.TLS1_3) {
      const tail = sh.random.subarray(24);
      if (equalBytes(tail, DOWNGRADE_TLS12) || equalBytes(tail, DOWNGRADE_TLS11)) {
        throw TLSError.local(
          AlertDescription.illegal_parameter,
          "downgrade detected: the server supports TLS 1.3 (RFC 8446 §4.1.3)",
        );
      }
    }
    return serverHello12(ctx, this.offer, msg, sh);
  }
}
