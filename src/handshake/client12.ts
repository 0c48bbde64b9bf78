import { AlertDescription } from "../alert.js";
import type { ClientConfig } from "../config.js";
import {
  ExtensionType,
  groupName,
  HandshakeType,
  type NamedGroup,
  ProtocolVersion,
  schemeName,
} from "../constants.js";
import type { KeyShare } from "../crypto/provider.js";
import { TLSError } from "../errors.js";
import { Aead12Protection } from "../record/protection.js";
import type { SessionState } from "../session/session.js";
import { type CipherSuite, suiteById } from "../suites.js";
import { concat, equalBytes } from "../wire/bytes.js";
import { expect, type PeerIdentity, renegotiationLimit, unexpected, verifyPeerChain } from "./common.js";
import type { HandshakeContext, HandshakeState, Incoming } from "./context.js";
import { checkFinished12, sendFinished12 } from "./finished12.js";
import { decodeCertificate12, encodeCertificate12 } from "./messages/certificate.js";
import {
  type CertificateRequest12,
  ClientCertificateType,
  decodeCertificateRequest12,
  describeCertificateRequest12,
} from "./messages/certificate-request.js";
import type { ClientHello } from "./messages/client-hello.js";
import { alpn, ecPointFormats, empty, extensionName, renegotiationInfo } from "./messages/extensions.js";
import type { HandshakeMessage } from "./messages/framing.js";
import type { ServerHello } from "./messages/server-hello.js";
import {
  decodeServerKeyExchange,
  describeServerKeyExchange,
  encodeEcdhParams,
} from "./messages/server-key-exchange.js";
import {
  decodeHelloRequest,
  decodeServerHelloDone,
  encodeCertificateVerify,
  encodeClientKeyExchange,
} from "./messages/simple.js";
import { exporter12Secrets, keyBlock12, masterSecret12 } from "./prf12.js";
import { abbreviatedClient12, receiveTicket12, sessionState12 } from "./resume12.js";
import { makeRsaPreMaster } from "./rsa-kx.js";
import { checkPeerScheme, chooseScheme, curveAccepted, keyFitsSuite } from "./signing.js";

/**
 * The TLS 1.2 client, one state per expected message, in the order of the seed's steps:
 *   1 ClientHello →  2 ServerHello  3 Certificate  5 ServerKeyExchange  4 CertificateRequest
 *   6 ServerHelloDone  →  7 Certificate  8 ClientKeyExchange  9 CertificateVerify
 *   10 ChangeCipherSpec  11 Finished  →  12 ChangeCipherSpec  13 Finished.
 */

/** What the client offered, kept to check the server's answers against (shared with TLS 1.3). */
export interface Offer {
  readonly config: ClientConfig;
  readonly serverName: string | undefined;
  readonly hello: ClientHello;
  readonly clientRandom: Uint8Array;
  /** A TLS 1.2 session offered for resumption (its id is the hello's, or its ticket is in session_ticket). */
  readonly session12: SessionState | undefined;
}

/**
 * Step 2 when the server chose TLS 1.2 (client.ts has read the ServerHello and checked the version
 * and the downgrade sentinel). Continues with the TLS 1.2 states.
 */
export function serverHello12(
  ctx: HandshakeContext,
  offer: Offer,
  msg: HandshakeMessage,
  sh: ServerHello,
): HandshakeState {
  const { config, hello } = offer;
  const suite = suiteById(sh.cipherSuite);
  if (!suite || !hello.cipherSuites.includes(sh.cipherSuite)) {
    throw TLSError.local(
      AlertDescription.illegal_parameter,
      `server chose cipher suite 0x${sh.cipherSuite.toString(16)}, which was not offered`,
    );
  }
  if (sh.compressionMethod !== 0)
    throw TLSError.local(AlertDescription.illegal_parameter, "server chose a compression method");

  const ext = readServerExtensions(sh, hello, config);
  if (!ext.extendedMasterSecret && config.requireExtendedMasterSecret) {
    throw TLSError.local(
      AlertDescription.handshake_failure,
      "server does not support extended_master_secret (RFC 7627)",
    );
  }
  // The server echoed the id of the session we offered: the abbreviated handshake follows.
  if (offer.session12 && sh.sessionId.length > 0 && equalBytes(sh.sessionId, hello.sessionId)) {
    return abbreviatedClient12(
      ctx,
      offer.session12,
      sh,
      msg,
      hello,
      ext,
      offer.serverName,
      config.verifier !== null,
    );
  }
  ctx.setVersion(ProtocolVersion.TLS1_2);
  ctx.transcript.add(msg.raw);
  return new ExpectCertificate({ ...offer, suite, serverRandom: sh.random, sessionId: sh.sessionId, ...ext });
}

interface ServerExtensions {
  extendedMasterSecret: boolean;
  alpnProtocol: string | undefined;
  /** The server will send a NewSessionTicket (RFC 5077). */
  ticket: boolean;
}

/** The server may only answer extensions the client sent (RFC 5246 §7.4.1.4). */
function readServerExtensions(sh: ServerHello, hello: ClientHello, config: ClientConfig): ServerExtensions {
  const out: ServerExtensions = { extendedMasterSecret: false, alpnProtocol: undefined, ticket: false };
  for (const e of sh.extensions) {
    if (!hello.extensions.some((o) => o.type === e.type)) {
      throw TLSError.local(
        AlertDescription.unsupported_extension,
        `server sent ${extensionName(e.type)}, which was not offered`,
      );
    }
    switch (e.type) {
      case ExtensionType.key_share:
      case ExtensionType.psk_key_exchange_modes:
      case ExtensionType.cookie:
      case ExtensionType.pre_shared_key:
        throw TLSError.local(
          AlertDescription.illegal_parameter,
          `${extensionName(e.type)} in a TLS 1.2 ServerHello`,
        );
      case ExtensionType.server_name:
        if (e.data.length !== 0)
          throw TLSError.local(AlertDescription.decode_error, "server_name in ServerHello must be empty");
        break;
      case ExtensionType.ec_point_formats:
        if (!ecPointFormats.decode(e.data).includes(0)) {
          throw TLSError.local(
            AlertDescription.illegal_parameter,
            "server does not accept uncompressed points",
          );
        }
        break;
      case ExtensionType.application_layer_protocol_negotiation: {
        const list = alpn.decode(e.data);
        if (list.length !== 1 || !config.alpnProtocols.includes(list[0]!)) {
          throw TLSError.local(
            AlertDescription.illegal_parameter,
            "server selected an ALPN protocol that was not offered",
          );
        }
        out.alpnProtocol = list[0];
        break;
      }
      case ExtensionType.extended_master_secret:
        empty.decode(e.data, e.type);
        out.extendedMasterSecret = true;
        break;
      case ExtensionType.session_ticket:
        empty.decode(e.data, e.type);
        out.ticket = true;
        break;
      case ExtensionType.renegotiation_info:
        // RFC 5746 §3.4: on the initial handshake the renegotiated_connection field must be empty.
        if (renegotiationInfo.decode(e.data).length !== 0) {
          throw TLSError.local(
            AlertDescription.handshake_failure,
            "non-empty renegotiation_info on the initial handshake",
          );
        }
        break;
      default:
        break;
    }
  }
  return out;
}

interface Negotiated extends Offer, ServerExtensions {
  /** The id the server gave this session (empty: not resumable by id). */
  readonly sessionId: Uint8Array;
  readonly suite: CipherSuite;
  readonly serverRandom: Uint8Array;
}

/** Step 3: the server's certificate chain. */
class ExpectCertificate implements HandshakeState {
  readonly name = "ExpectCertificate";
  constructor(private readonly n: Negotiated) {}

  handle(ctx: HandshakeContext, input: Incoming): HandshakeState {
    const msg = expect(this.name, input, HandshakeType.certificate);
    const cert = decodeCertificate12(msg.body, this.n.config.maxCertificateChainLength);
    if (cert.certificateList.length === 0)
      throw TLSError.local(AlertDescription.bad_certificate, "server sent no certificate");
    const peer = verifyPeerChain(
      ctx.crypto,
      this.n.config.verifier,
      cert.certificateList,
      "serverAuth",
      this.n.serverName,
    );
    ctx.received("Certificate", {
      chain: peer.certificates.map((c) => c.subject.toString()).join(" <- "),
      verified: String(peer.verified),
    });
    if (!keyFitsSuite(peer.publicKey, this.n.suite.auth)) {
      throw TLSError.local(
        AlertDescription.unsupported_certificate,
        `server key (${peer.publicKey.type}) does not fit ${this.n.suite.name}`,
      );
    }
    // RFC 8422 §5.1: an ECDSA certificate must be on a curve we offered.
    if (!curveAccepted(peer.publicKey, this.n.config.groups12)) {
      throw TLSError.local(
        AlertDescription.illegal_parameter,
        `server certificate is on ${peer.publicKey.curve}, a curve we did not offer`,
      );
    }
    ctx.transcript.add(msg.raw);
    if (this.n.suite.kx === "RSA") return new ExpectCertificateRequestOrDone(this.n, peer, null);
    return new ExpectServerKeyExchange(this.n, peer);
  }
}

interface Kx {
  readonly share: KeyShare;
  readonly group: NamedGroup;
  readonly serverPublic: Uint8Array;
  readonly peerScheme: number;
}

/** Step 5: the server's signed ECDHE parameters. */
class ExpectServerKeyExchange implements HandshakeState {
  readonly name = "ExpectServerKeyExchange";
  constructor(
    private readonly n: Negotiated,
    private readonly peer: PeerIdentity,
  ) {}

  handle(ctx: HandshakeContext, input: Incoming): HandshakeState {
    const msg = expect(this.name, input, HandshakeType.server_key_exchange);
    const ske = decodeServerKeyExchange(msg.body);
    ctx.received("ServerKeyExchange", describeServerKeyExchange(ske));
    if (!this.n.config.groups12.includes(ske.group)) {
      throw TLSError.local(
        AlertDescription.illegal_parameter,
        `server chose group ${groupName(ske.group)}, which was not offered`,
      );
    }
    checkPeerScheme(ske.scheme, this.n.config.signatureSchemes, this.peer.publicKey, ProtocolVersion.TLS1_2);
    const signed = concat(
      this.n.clientRandom,
      this.n.serverRandom,
      encodeEcdhParams(ske.group, ske.publicKey),
    );
    if (!ctx.crypto.verify(ske.scheme, this.peer.publicKey, signed, ske.signature)) {
      throw TLSError.local(AlertDescription.decrypt_error, "ServerKeyExchange signature does not verify");
    }
    const share = ctx.crypto.keyShare(ske.group);
    ctx.transcript.add(msg.raw);
    return new ExpectCertificateRequestOrDone(this.n, this.peer, {
      share,
      group: ske.group,
      serverPublic: ske.publicKey,
      peerScheme: ske.scheme,
    });
  }
}

/** Step 4 (optional) or step 6. */
class ExpectCertificateRequestOrDone implements HandshakeState {
  readonly name = "ExpectCertificateRequestOrServerHelloDone";
  constructor(
    private readonly n: Negotiated,
    private readonly peer: PeerIdentity,
    private readonly kx: Kx | null,
  ) {}

  handle(ctx: HandshakeContext, input: Incoming): HandshakeState {
    if (input.kind === "handshake" && input.msg.type === HandshakeType.certificate_request) {
      const req = decodeCertificateRequest12(input.msg.body);
      ctx.received("CertificateRequest", describeCertificateRequest12(req));
      ctx.transcript.add(input.msg.raw);
      return new ExpectServerHelloDone(this.n, this.peer, this.kx, req);
    }
    return new ExpectServerHelloDone(this.n, this.peer, this.kx, null).handle(ctx, input);
  }
}

/** Step 6, then the client's flight: steps 7 to 11. */
class ExpectServerHelloDone implements HandshakeState {
  readonly name = "ExpectServerHelloDone";
  constructor(
    private readonly n: Negotiated,
    private readonly peer: PeerIdentity,
    private readonly kx: Kx | null,
    private readonly request: CertificateRequest12 | null,
  ) {}

  handle(ctx: HandshakeContext, input: Incoming): HandshakeState {
    if (input.kind === "handshake" && input.msg.type === HandshakeType.server_key_exchange && !this.kx) {
      throw unexpected(this.name, input); // RSA key transport has no ServerKeyExchange
    }
    const msg = expect(this.name, input, HandshakeType.server_hello_done);
    decodeServerHelloDone(msg.body);
    ctx.received("ServerHelloDone");
    ctx.transcript.add(msg.raw);
    const { n, kx } = this;
    const suite = n.suite;

    // Step 7: our certificate, if one was requested (empty when we have none that fits).
    let signer: { scheme: number } | null = null;
    if (this.request) {
      const own = n.config.certificate;
      let chain: Uint8Array[] = [];
      if (own) {
        const typeOk = this.request.certificateTypes.includes(
          own.key.type === "rsa" ? ClientCertificateType.rsa_sign : ClientCertificateType.ecdsa_sign,
        );
        const scheme = chooseScheme(
          n.config.signatureSchemes,
          this.request.signatureAlgorithms,
          own.key,
          ProtocolVersion.TLS1_2,
        );
        if (typeOk && scheme !== undefined) {
          chain = own.chain;
          signer = { scheme };
        }
      }
      ctx.send(encodeCertificate12({ certificateList: chain }), "Certificate", {
        chain: chain.length > 0 && own ? own.leaf.subject.toString() : "(empty)",
      });
    }

    // Step 8: ClientKeyExchange, and the pre-master secret.
    let preMaster: Uint8Array;
    if (kx) {
      preMaster = kx.share.agree(kx.serverPublic);
      ctx.send(
        encodeClientKeyExchange({ kind: "ECDHE", publicKey: kx.share.publicKey }),
        "ClientKeyExchange",
        {
          group: groupName(kx.group),
        },
      );
    } else {
      const rsa = makeRsaPreMaster(ctx.crypto, n.hello.legacyVersion, this.peer.publicKey);
      preMaster = rsa.preMaster;
      ctx.send(
        encodeClientKeyExchange({ kind: "RSA", encryptedPreMaster: rsa.encrypted }),
        "ClientKeyExchange",
        {
          kx: "RSA (encrypted pre-master secret)",
        },
      );
    }
    const master = masterSecret12(
      ctx.crypto,
      suite.hash,
      preMaster,
      n.extendedMasterSecret
        ? { sessionHash: ctx.transcript.hash(ctx.crypto, suite.hash) }
        : { clientRandom: n.clientRandom, serverRandom: n.serverRandom },
    );
    preMaster.fill(0);
    ctx.keylog("CLIENT_RANDOM", n.clientRandom, master);

    // Step 9: CertificateVerify over every handshake message so far.
    if (signer && n.config.certificate) {
      const signature = ctx.crypto.sign(signer.scheme, n.config.certificate.key, ctx.transcript.bytes());
      ctx.send(encodeCertificateVerify({ scheme: signer.scheme, signature }), "CertificateVerify", {
        scheme: schemeName(signer.scheme),
      });
    }

    // Steps 10 and 11: ChangeCipherSpec, then Finished under the new keys.
    const keys = keyBlock12(
      ctx.crypto,
      suite.hash,
      master,
      n.clientRandom,
      n.serverRandom,
      suite.keyLength,
      suite.fixedIvLength,
    );
    ctx.sendChangeCipherSpec(
      new Aead12Protection(ctx.crypto, suite, keys.clientWriteKey, keys.clientWriteIv),
    );
    sendFinished12(ctx, suite.hash, master, "client");

    const done: Done = { ...n, peer: this.peer, kx, master, signer, requested: this.request !== null };
    return new ExpectChangeCipherSpec(
      done,
      new Aead12Protection(ctx.crypto, suite, keys.serverWriteKey, keys.serverWriteIv),
    );
  }
}

interface Done extends Negotiated {
  readonly peer: PeerIdentity;
  readonly kx: Kx | null;
  readonly master: Uint8Array;
  readonly signer: { scheme: number } | null;
  readonly requested: boolean;
}

/** Step 12: the server's ChangeCipherSpec. */
class ExpectChangeCipherSpec implements HandshakeState {
  readonly name = "ExpectChangeCipherSpec";
  constructor(
    private readonly d: Done,
    private readonly read: Aead12Protection,
    /** RFC 5077 §3.3: a server that acknowledged session_ticket sends NewSessionTicket first. */
    private readonly ticket: Uint8Array | null = null,
    private readonly ticketLifetime = 0,
  ) {}
  handle(ctx: HandshakeContext, input: Incoming): HandshakeState {
    if (
      this.d.ticket &&
      this.ticket === null &&
      input.kind === "handshake" &&
      input.msg.type === HandshakeType.new_session_ticket
    ) {
      const nst = receiveTicket12(ctx, input.msg);
      return new ExpectChangeCipherSpec(this.d, this.read, nst.ticket, nst.lifetimeHint);
    }
    if (input.kind !== "ccs") throw unexpected(this.name, input);
    if (this.d.ticket && this.ticket === null) {
      throw TLSError.local(AlertDescription.unexpected_message, "NewSessionTicket missing (RFC 5077)");
    }
    ctx.received("ChangeCipherSpec");
    ctx.changeReadProtection(this.read);
    return new ExpectFinished(this.d, this.ticket, this.ticketLifetime);
  }
}

/** Step 13: the server's Finished; then the connection is established. */
class ExpectFinished implements HandshakeState {
  readonly name = "ExpectFinished";
  constructor(
    private readonly d: Done,
    private readonly ticket: Uint8Array | null,
    private readonly ticketLifetime: number,
  ) {}
  handle(ctx: HandshakeContext, input: Incoming): HandshakeState {
    const d = this.d;
    const msg = expect(this.name, input, HandshakeType.finished);
    checkFinished12(ctx, msg, d.suite.hash, d.master, "server");
    ctx.complete(
      {
        version: ProtocolVersion.TLS1_2,
        protocol: "TLSv1.2",
        cipherSuite: d.suite,
        ...(d.kx ? { group: d.kx.group } : {}),
        ...(d.serverName !== undefined ? { serverName: d.serverName } : {}),
        ...(d.alpnProtocol !== undefined ? { alpnProtocol: d.alpnProtocol } : {}),
        peerCertificates: d.peer.certificates,
        peerVerified: d.peer.verified,
        peerPublicKey: d.peer.publicKey,
        ...(d.kx ? { peerSignatureScheme: d.kx.peerScheme } : {}),
        ...(d.signer ? { signatureScheme: d.signer.scheme } : {}),
        extendedMasterSecret: d.extendedMasterSecret,
        clientCertificateRequested: d.requested,
        resumed: false,
        clientRandom: d.clientRandom,
        serverRandom: d.serverRandom,
      },
      exporter12Secrets(ctx.crypto, d.suite.hash, d.master, d.clientRandom, d.serverRandom),
    );
    // Resumable by id and/or ticket; only sessions with an extended master secret (RFC 7627 §5.3).
    const ticket = this.ticket && this.ticket.length > 0 ? this.ticket : new Uint8Array(0);
    if (d.extendedMasterSecret && (d.sessionId.length > 0 || ticket.length > 0)) {
      const state = sessionState12(
        d.suite.id,
        d.master,
        d.serverName,
        d.alpnProtocol,
        d.peer,
        { sessionLifetime: 7200 },
        d.sessionId,
      );
      if (ticket.length > 0) {
        state.ticket = ticket;
        if (this.ticketLifetime > 0) state.lifetime = Math.min(this.ticketLifetime, 604800);
      }
      ctx.session(state);
    }
    return new ClientEstablished12();
  }
}

/** After the handshake: a HelloRequest is answered with no_renegotiation (RFC 5746 is not used to renegotiate). */
export class ClientEstablished12 implements HandshakeState {
  readonly name = "Established";
  private readonly renegotiations = renegotiationLimit();
  handle(ctx: HandshakeContext, input: Incoming): HandshakeState {
    if (input.kind === "handshake" && input.msg.type === HandshakeType.hello_request) {
      decodeHelloRequest(input.msg.body);
      ctx.received("HelloRequest");
      this.renegotiations.spend(ctx);
      ctx.warn(AlertDescription.no_renegotiation);
      return this;
    }
    throw unexpected(this.name, input);
  }
}
