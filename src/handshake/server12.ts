import { AlertDescription } from "../alert.js";
import type { CertifiedKey, ServerConfig } from "../config.js";
import {
  ExtensionType,
  groupName,
  HandshakeType,
  NamedGroup,
  ProtocolVersion,
  SignatureScheme,
  schemeName,
} from "../constants.js";
import type { KeyShare } from "../crypto/provider.js";
import { TLSError } from "../errors.js";
import { Aead12Protection } from "../record/protection.js";
import { type CipherSuite, TLS_EMPTY_RENEGOTIATION_INFO_SCSV } from "../suites.js";
import { concat } from "../wire/bytes.js";
import { checkHostname } from "../x509/hostname.js";
import { expect, type PeerIdentity, renegotiationLimit, unexpected, verifyPeerChain } from "./common.js";
import type { HandshakeContext, HandshakeState, Incoming } from "./context.js";
import { checkFinished12, sendFinished12 } from "./finished12.js";
import { decodeCertificate12, encodeCertificate12 } from "./messages/certificate.js";
import {
  ClientCertificateType,
  describeCertificateRequest12,
  encodeCertificateRequest12,
} from "./messages/certificate-request.js";
import type { ClientHello } from "./messages/client-hello.js";
import {
  alpn,
  type Extension,
  ecPointFormats,
  empty,
  findExtension,
  renegotiationInfo,
  signatureAlgorithms,
  serverName as sniExt,
  supportedGroups,
} from "./messages/extensions.js";
import type { HandshakeMessage } from "./messages/framing.js";
import { describeServerHello, encodeServerHello, type ServerHello } from "./messages/server-hello.js";
import { encodeEcdhParams, encodeServerKeyExchange } from "./messages/server-key-exchange.js";
import {
  decodeCertificateVerify,
  decodeClientKeyExchange,
  encodeServerHelloDone,
} from "./messages/simple.js";
import { DOWNGRADE_TLS12 } from "./messages/tls13.js";
import { exporter12Secrets, keyBlock12, masterSecret12 } from "./prf12.js";
import {
  abbreviatedServer12,
  resumeOrNot12,
  sendTicket12,
  sessionState12,
  storeSession12,
} from "./resume12.js";
import { decryptRsaPreMaster } from "./rsa-kx.js";
import { checkPeerScheme, chooseScheme, curveAccepted, keyFitsSuite } from "./signing.js";

/**
 * The TLS 1.2 server, one state per expected message:
 *   1 ClientHello  →  2 ServerHello 3 Certificate 5 ServerKeyExchange 4 CertificateRequest 6 ServerHelloDone
 *   7 Certificate  8 ClientKeyExchange  9 CertificateVerify  10 ChangeCipherSpec  11 Finished
 *   →  12 ChangeCipherSpec  13 Finished.
 */

/** What the ClientHello offered, decoded once. */
export interface Offered {
  readonly hello: ClientHello;
  readonly serverName: string | undefined;
  readonly groups: readonly number[];
  readonly signatureSchemes: readonly number[];
  readonly alpn: readonly string[] | undefined;
  readonly extendedMasterSecret: boolean;
  readonly secureRenegotiation: boolean;
  readonly pointFormats: boolean;
  /** Whether the client sent supported_groups (else any curve is acceptable). */
  readonly curvesListed: boolean;
  /** The client's session_ticket extension (RFC 5077): a ticket, empty, or absent. */
  readonly ticketExt: Uint8Array | undefined;
}

/** Our choices. */
interface Choice {
  readonly suite: CipherSuite;
  readonly cert: CertifiedKey;
  readonly group: NamedGroup | undefined;
  readonly scheme: number | undefined;
}

/** RFC 5246 §7.4.1.4.1: a client without signature_algorithms is taken to support only SHA-1 signatures. */
const DEFAULT_CLIENT_SCHEMES = [SignatureScheme.rsa_pkcs1_sha1, SignatureScheme.ecdsa_sha1];

/**
 * Step 1 when TLS 1.2 was negotiated (server.ts has decoded the ClientHello and picked the version):
 * the server's whole first flight, steps 2 to 6.
 */
export function clientHello12(
  ctx: HandshakeContext,
  config: ServerConfig,
  msg: HandshakeMessage,
  hello: ClientHello,
): HandshakeState {
  {
    if (!hello.compressionMethods.includes(0)) {
      throw TLSError.local(
        AlertDescription.illegal_parameter,
        "client does not offer the null compression method",
      );
    }
    const offered = readClientExtensions(hello);
    if (config.requireExtendedMasterSecret && !offered.extendedMasterSecret) {
      throw TLSError.local(
        AlertDescription.handshake_failure,
        "client does not support extended_master_secret (RFC 7627)",
      );
    }
    return resumeOrNot12(ctx, config, hello, offered, (state, via) =>
      state && via
        ? abbreviatedServer12(ctx, config, msg, hello, offered, state, via)
        : fullHandshake12(ctx, config, msg, hello, offered),
    );
  }
}

/** The full TLS 1.2 handshake, server side: steps 2 to 6 now, the rest in the states below. */
function fullHandshake12(
  ctx: HandshakeContext,
  config: ServerConfig,
  msg: HandshakeMessage,
  hello: ClientHello,
  offered: Offered,
): HandshakeState {
  {
    const choice = choose(config, offered);
    const alpnProtocol = chooseAlpn(config, offered);
    ctx.setVersion(ProtocolVersion.TLS1_2);
    ctx.transcript.add(msg.raw);
    // Resumable later (RFC 7627 §5.3: only sessions with an extended master secret): an id, a ticket.
    const sessionId =
      config.sessionIds && offered.extendedMasterSecret ? ctx.crypto.random(32) : new Uint8Array(0);
    const issueTicket =
      config.sessionTickets && offered.ticketExt !== undefined && offered.extendedMasterSecret;

    // Step 2: ServerHello.
    const serverRandom = ctx.crypto.random(32);
    // RFC 8446 §4.1.3: a TLS 1.3 server that negotiates TLS 1.2 says so in the last 8 bytes.
    if (config.maxVersion >= ProtocolVersion.TLS1_3) serverRandom.set(DOWNGRADE_TLS12, 24);
    const extensions: Extension[] = [];
    if (offered.secureRenegotiation)
      extensions.push({
        type: ExtensionType.renegotiation_info,
        data: renegotiationInfo.encode(new Uint8Array(0)),
      });
    if (offered.extendedMasterSecret)
      extensions.push({ type: ExtensionType.extended_master_secret, data: empty.encode() });
    if (offered.serverName !== undefined)
      extensions.push({ type: ExtensionType.server_name, data: new Uint8Array(0) });
    if (offered.pointFormats && choice.suite.kx === "ECDHE")
      extensions.push({ type: ExtensionType.ec_point_formats, data: ecPointFormats.encode() });
    if (alpnProtocol !== undefined)
      extensions.push({
        type: ExtensionType.application_layer_protocol_negotiation,
        data: alpn.encode([alpnProtocol]),
      });
    if (issueTicket) extensions.push({ type: ExtensionType.session_ticket, data: new Uint8Array(0) });
    const sh: ServerHello = {
      legacyVersion: ProtocolVersion.TLS1_2,
      random: serverRandom,
      sessionId,
      cipherSuite: choice.suite.id,
      compressionMethod: 0,
      extensions,
    };
    ctx.send(encodeServerHello(sh), "ServerHello", {
      ...describeServerHello(sh),
      ...(offered.serverName ? { sni: offered.serverName } : {}),
    });

    // Step 3: Certificate.
    ctx.send(encodeCertificate12({ certificateList: choice.cert.chain }), "Certificate", {
      chain: choice.cert.leaf.subject.toString(),
    });

    // Step 5: ServerKeyExchange (ECDHE only).
    let share: KeyShare | null = null;
    if (choice.suite.kx === "ECDHE" && choice.group !== undefined && choice.scheme !== undefined) {
      share = ctx.crypto.keyShare(choice.group);
      const params = encodeEcdhParams(choice.group, share.publicKey);
      const signature = ctx.crypto.sign(
        choice.scheme,
        choice.cert.key,
        concat(hello.random, serverRandom, params),
      );
      ctx.send(
        encodeServerKeyExchange({
          group: choice.group,
          publicKey: share.publicKey,
          scheme: choice.scheme,
          signature,
        }),
        "ServerKeyExchange",
        { group: groupName(choice.group), signature: schemeName(choice.scheme) },
      );
    }

    // Step 4: CertificateRequest, when client authentication is on.
    const requested = config.clientAuth !== "none";
    if (requested) {
      const req = {
        certificateTypes: [ClientCertificateType.ecdsa_sign, ClientCertificateType.rsa_sign],
        signatureAlgorithms: [...config.signatureSchemes],
        certificateAuthorities: [],
      };
      ctx.send(encodeCertificateRequest12(req), "CertificateRequest", describeCertificateRequest12(req));
    }

    // Step 6: ServerHelloDone.
    ctx.send(encodeServerHelloDone(), "ServerHelloDone");

    const s: Session = {
      config,
      offered,
      ...choice,
      share,
      alpnProtocol,
      clientRandom: hello.random,
      serverRandom,
      requested,
      sessionId,
      issueTicket,
    };
    return requested ? new ExpectClientCertificate(s) : new ExpectClientKeyExchange(s, null);
  }
}

function readClientExtensions(hello: ClientHello): Offered {
  const ext = (t: ExtensionType) => findExtension(hello.extensions, t);
  const sni = ext(ExtensionType.server_name);
  const groups = ext(ExtensionType.supported_groups);
  const sigs = ext(ExtensionType.signature_algorithms);
  const a = ext(ExtensionType.application_layer_protocol_negotiation);
  const ems = ext(ExtensionType.extended_master_secret);
  if (ems) empty.decode(ems, ExtensionType.extended_master_secret);
  const reneg = ext(ExtensionType.renegotiation_info);
  if (reneg && renegotiationInfo.decode(reneg).length !== 0) {
    // RFC 5746 §3.6: a non-empty renegotiated_connection on an initial handshake.
    throw TLSError.local(
      AlertDescription.handshake_failure,
      "non-empty renegotiation_info on the initial handshake",
    );
  }
  const pf = ext(ExtensionType.ec_point_formats);
  if (pf && !ecPointFormats.decode(pf).includes(0)) {
    throw TLSError.local(AlertDescription.illegal_parameter, "client does not accept uncompressed points");
  }
  return {
    hello,
    serverName: sni ? sniExt.decode(sni) : undefined,
    // RFC 8422 §4: without supported_groups, any curve may be used; we then pick P-256.
    groups: groups ? supportedGroups.decode(groups) : [NamedGroup.secp256r1],
    curvesListed: groups !== undefined,
    ticketExt: ext(ExtensionType.session_ticket),
    signatureSchemes: sigs ? signatureAlgorithms.decode(sigs) : DEFAULT_CLIENT_SCHEMES,
    alpn: a ? alpn.decode(a) : undefined,
    extendedMasterSecret: ems !== undefined,
    secureRenegotiation:
      reneg !== undefined || hello.cipherSuites.includes(TLS_EMPTY_RENEGOTIATION_INFO_SCSV),
    pointFormats: pf !== undefined,
  };
}

/** The server's preference decides: the first of our suites the client offers that a certificate can serve. */
function choose(config: ServerConfig, o: Offered): Choice {
  const byName =
    o.serverName !== undefined ? config.certificates.filter((c) => checkHostname(c.leaf, o.serverName!)) : [];
  const candidates = byName.length > 0 ? byName : config.certificates;
  const group = config.groups12.find((g) => o.groups.includes(g));
  for (const suite of config.suites) {
    if (!o.hello.cipherSuites.includes(suite.id)) continue;
    for (const cert of candidates) {
      if (!keyFitsSuite(cert.key, suite.auth)) continue;
      // RFC 8422 §5.1: the client's curves also bound the ECDSA certificate's curve.
      if (o.curvesListed && !curveAccepted(cert.key, o.groups)) continue;
      if (suite.kx === "RSA") return { suite, cert, group: undefined, scheme: undefined };
      if (group === undefined) continue;
      const scheme = chooseScheme(
        config.signatureSchemes,
        o.signatureSchemes,
        cert.key,
        ProtocolVersion.TLS1_2,
      );
      if (scheme !== undefined) return { suite, cert, group, scheme };
    }
  }
  throw TLSError.local(
    AlertDescription.handshake_failure,
    "no cipher suite, group and signature algorithm in common with the client",
  );
}

/** RFC 7301 §3.2: the server picks by its own preference; no overlap is a fatal no_application_protocol. */
export function chooseAlpn(
  config: ServerConfig,
  o: { alpn: readonly string[] | undefined },
): string | undefined {
  if (o.alpn === undefined || config.alpnProtocols.length === 0) return undefined;
  const p = config.alpnProtocols.find((x) => o.alpn!.includes(x));
  if (p === undefined) {
    throw TLSError.local(
      AlertDescription.no_application_protocol,
      `no ALPN protocol in common (client offers ${o.alpn.join(", ")})`,
    );
  }
  return p;
}

interface Session extends Choice {
  readonly config: ServerConfig;
  readonly offered: Offered;
  readonly share: KeyShare | null;
  readonly alpnProtocol: string | undefined;
  readonly clientRandom: Uint8Array;
  readonly serverRandom: Uint8Array;
  readonly requested: boolean;
  readonly sessionId: Uint8Array;
  readonly issueTicket: boolean;
}

/** Step 7: the client's certificate chain (possibly empty). */
class ExpectClientCertificate implements HandshakeState {
  readonly name = "ExpectClientCertificate";
  constructor(private readonly s: Session) {}
  handle(ctx: HandshakeContext, input: Incoming): HandshakeState {
    const msg = expect(this.name, input, HandshakeType.certificate);
    const cert = decodeCertificate12(msg.body, this.s.config.maxCertificateChainLength);
    let peer: PeerIdentity | null = null;
    if (cert.certificateList.length === 0) {
      ctx.received("Certificate", { chain: "(empty)" });
      if (this.s.config.clientAuth === "require") {
        throw TLSError.local(
          AlertDescription.handshake_failure,
          "client sent no certificate, and one is required",
          "ERR_TLS_CLIENT_CERT_REQUIRED",
        );
      }
    } else {
      peer = verifyPeerChain(
        ctx.crypto,
        this.s.config.verifier,
        cert.certificateList,
        "clientAuth",
        undefined,
      );
      ctx.received("Certificate", {
        chain: peer.certificates.map((c) => c.subject.toString()).join(" <- "),
        verified: "true",
      });
    }
    ctx.transcript.add(msg.raw);
    return new ExpectClientKeyExchange(this.s, peer);
  }
}

/** Step 8: the client's key exchange; the master secret follows. */
class ExpectClientKeyExchange implements HandshakeState {
  readonly name = "ExpectClientKeyExchange";
  constructor(
    private readonly s: Session,
    private readonly peer: PeerIdentity | null,
  ) {}
  handle(ctx: HandshakeContext, input: Incoming): HandshakeState {
    const s = this.s;
    const msg = expect(this.name, input, HandshakeType.client_key_exchange);
    const cke = decodeClientKeyExchange(msg.body, s.suite.kx);
    let preMaster: Uint8Array;
    if (cke.kind === "ECDHE") {
      ctx.received("ClientKeyExchange", { group: groupName(s.group ?? 0) });
      preMaster = s.share!.agree(cke.publicKey);
    } else {
      ctx.received("ClientKeyExchange", { kx: "RSA (encrypted pre-master secret)" });
      preMaster = decryptRsaPreMaster(
        ctx.crypto,
        s.cert.key,
        cke.encryptedPreMaster,
        s.offered.hello.legacyVersion,
      );
    }
    ctx.transcript.add(msg.raw);
    const master = masterSecret12(
      ctx.crypto,
      s.suite.hash,
      preMaster,
      s.offered.extendedMasterSecret
        ? { sessionHash: ctx.transcript.hash(ctx.crypto, s.suite.hash) }
        : { clientRandom: s.clientRandom, serverRandom: s.serverRandom },
    );
    preMaster.fill(0);
    ctx.keylog("CLIENT_RANDOM", s.clientRandom, master);
    const k: Keyed = { ...s, peer: this.peer, master, peerScheme: undefined };
    return this.peer ? new ExpectCertificateVerify(k) : new ExpectChangeCipherSpec(k);
  }
}

interface Keyed extends Session {
  readonly peer: PeerIdentity | null;
  readonly master: Uint8Array;
  readonly peerScheme: number | undefined;
}

/** Step 9: proof that the client holds its certificate's key. */
class ExpectCertificateVerify implements HandshakeState {
  readonly name = "ExpectCertificateVerify";
  constructor(private readonly k: Keyed) {}
  handle(ctx: HandshakeContext, input: Incoming): HandshakeState {
    const msg = expect(this.name, input, HandshakeType.certificate_verify);
    const cv = decodeCertificateVerify(msg.body);
    ctx.received("CertificateVerify", { scheme: schemeName(cv.scheme) });
    const key = this.k.peer!.publicKey;
    checkPeerScheme(cv.scheme, this.k.config.signatureSchemes, key, ProtocolVersion.TLS1_2);
    if (!ctx.crypto.verify(cv.scheme, key, ctx.transcript.bytes(), cv.signature)) {
      throw TLSError.local(AlertDescription.decrypt_error, "client CertificateVerify does not verify");
    }
    ctx.transcript.add(msg.raw);
    return new ExpectChangeCipherSpec({ ...this.k, peerScheme: cv.scheme });
  }
}

/** Step 10: the client's ChangeCipherSpec. */
class ExpectChangeCipherSpec implements HandshakeState {
  readonly name = "ExpectChangeCipherSpec";
  constructor(private readonly k: Keyed) {}
  handle(ctx: HandshakeContext, input: Incoming): HandshakeState {
    if (input.kind !== "ccs") throw unexpected(this.name, input);
    ctx.received("ChangeCipherSpec");
    const { suite, master, clientRandom, serverRandom } = this.k;
    const keys = keyBlock12(
      ctx.crypto,
      suite.hash,
      master,
      clientRandom,
      serverRandom,
      suite.keyLength,
      suite.fixedIvLength,
    );
    ctx.changeReadProtection(
      new Aead12Protection(ctx.crypto, suite, keys.clientWriteKey, keys.clientWriteIv),
    );
    return new ExpectFinished(
      this.k,
      new Aead12Protection(ctx.crypto, suite, keys.serverWriteKey, keys.serverWriteIv),
    );
  }
}

/** Step 11, then steps 12 and 13: verify the client's Finished, answer with ours. */
class ExpectFinished implements HandshakeState {
  readonly name = "ExpectFinished";
  constructor(
    private readonly k: Keyed,
    private readonly write: Aead12Protection,
  ) {}
  handle(ctx: HandshakeContext, input: Incoming): HandshakeState {
    const k = this.k;
    const msg = expect(this.name, input, HandshakeType.finished);
    checkFinished12(ctx, msg, k.suite.hash, k.master, "client");

    const state = sessionState12(
      k.suite.id,
      k.master,
      k.offered.serverName,
      k.alpnProtocol,
      k.peer,
      k.config,
      k.sessionId,
    );
    // RFC 5077 §3.3: the new ticket goes before ChangeCipherSpec.
    if (k.issueTicket) sendTicket12(ctx, k.config, state);
    ctx.sendChangeCipherSpec(this.write);
    sendFinished12(ctx, k.suite.hash, k.master, "server");

    ctx.complete(
      {
        version: ProtocolVersion.TLS1_2,
        protocol: "TLSv1.2",
        cipherSuite: k.suite,
        ...(k.group !== undefined && k.suite.kx === "ECDHE" ? { group: k.group } : {}),
        ...(k.offered.serverName !== undefined ? { serverName: k.offered.serverName } : {}),
        ...(k.alpnProtocol !== undefined ? { alpnProtocol: k.alpnProtocol } : {}),
        peerCertificates: k.peer?.certificates ?? [],
        peerVerified: k.peer?.verified ?? false,
        ...(k.peer ? { peerPublicKey: k.peer.publicKey } : {}),
        ...(k.peerScheme !== undefined ? { peerSignatureScheme: k.peerScheme } : {}),
        ...(k.scheme !== undefined ? { signatureScheme: k.scheme } : {}),
        extendedMasterSecret: k.offered.extendedMasterSecret,
        clientCertificateRequested: k.requested,
        resumed: false,
        clientRandom: k.clientRandom,
        serverRandom: k.serverRandom,
      },
      exporter12Secrets(ctx.crypto, k.suite.hash, k.master, k.clientRandom, k.serverRandom),
    );
    if (k.sessionId.length > 0) storeSession12(k.config, k.sessionId, state);
    return new ServerEstablished12();
  }
}

/** After the handshake: a new ClientHello (renegotiation) is refused with no_renegotiation. */
export class ServerEstablished12 implements HandshakeState {
  readonly name = "Established";
  private readonly renegotiations = renegotiationLimit();
  handle(ctx: HandshakeContext, input: Incoming): HandshakeState {
    if (input.kind === "handshake" && input.msg.type === HandshakeType.client_hello) {
      ctx.received("ClientHello", { renegotiation: "refused" });
      this.renegotiations.spend(ctx);
      ctx.warn(AlertDescription.no_renegotiation);
      return this;
    }
    throw unexpected(this.name, input);
  }
}
