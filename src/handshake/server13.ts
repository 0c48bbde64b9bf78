import { AlertDescription } from "../alert.js";
import type { CertifiedKey, ServerConfig } from "../config.js";
import {
  ExtensionType,
  groupName,
  HandshakeType,
  type NamedGroup,
  ProtocolVersion,
  schemeName,
} from "../constants.js";
import { hashLength } from "../crypto/provider.js";
import { TLSError } from "../errors.js";
import { Aead13Protection } from "../record/protection.js";
import { encodeSessionState, type SessionState } from "../session/session.js";
import type { CipherSuite13 } from "../suites.js";
import { equalBytes } from "../wire/bytes.js";
import { parseCertificate } from "../x509/certificate.js";
import { checkHostname } from "../x509/hostname.js";
import { checkCertificateVerify13, checkFinished13, Established13 } from "./client13.js";
import { expect, type PeerIdentity, verifyPeerChain } from "./common.js";
import type { HandshakeContext, HandshakeState, Incoming } from "./context.js";
import { exporter13, finishedMac, KeySchedule13, ticketPsk, trafficKeys } from "./keyschedule13.js";
import { type ClientHello, decodeClientHello, describeClientHello } from "./messages/client-hello.js";
import {
  alpn,
  type Extension,
  extensionName,
  findExtension,
  type KeyShareEntry,
  keyShare,
  PskKeyExchangeMode,
  preSharedKey,
  signatureAlgorithms,
  serverName as sniExt,
  supportedGroups,
  supportedVersions,
} from "./messages/extensions.js";
import type { HandshakeMessage } from "./messages/framing.js";
import { encodeServerHello, type ServerHello } from "./messages/server-hello.js";
import { encodeCertificateVerify, encodeFinished } from "./messages/simple.js";
import {
  certificateVerifyContent,
  decodeCertificate13,
  encodeCertificate13,
  encodeCertificateRequest13,
  encodeEncryptedExtensions,
  encodeNewSessionTicket13,
  HELLO_RETRY_REQUEST_RANDOM,
  messageHash,
} from "./messages/tls13.js";
import { afterOr } from "./pending.js";
import { type AcceptedPsk, choosePsk, clientPskModes } from "./psk13.js";
import { chooseAlpn } from "./server12.js";
import { chooseScheme } from "./signing.js";

/**
 * The TLS 1.3 server (RFC 8446 §2, §4): ClientHello → ServerHello (or HelloRetryRequest, once)
 * {EncryptedExtensions} {CertificateRequest} {Certificate} {CertificateVerify} {Finished} →
 * {Certificate} {CertificateVerify} {Finished} from the client.
 */

const TLS13 = ProtocolVersion.TLS1_3;
const u32 = (n: number) => Uint8Array.of(n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff);
/** How much rejected 0-RTT data we skip before calling it an attack (OpenSSL's default max_early_data is 16 KiB). */
const MAX_REJECTED_EARLY_DATA = 4 * (16384 + 256);

interface Offered13 {
  readonly hello: ClientHello;
  readonly serverName: string | undefined;
  readonly groups: readonly number[];
  readonly shares: readonly KeyShareEntry[];
  readonly schemes: readonly number[];
  readonly alpn: readonly string[] | undefined;
}

function readOffer(hello: ClientHello): Offered13 {
  const ext = (t: ExtensionType) => findExtension(hello.extensions, t);
  // §4.1.2: legacy_compression_methods is exactly one zero byte in TLS 1.3.
  if (hello.compressionMethods.length !== 1 || hello.compressionMethods[0] !== 0) {
    throw TLSError.local(
      AlertDescription.illegal_parameter,
      "TLS 1.3 ClientHello must offer only the null compression method",
    );
  }
  const sg = ext(ExtensionType.supported_groups);
  const ks = ext(ExtensionType.key_share);
  const sa = ext(ExtensionType.signature_algorithms);
  // §9.2: without a PSK, these are mandatory.
  if (!sg || !ks)
    throw TLSError.local(
      AlertDescription.missing_extension,
      "TLS 1.3 ClientHello without supported_groups and key_share",
    );
  if (!sa)
    throw TLSError.local(
      AlertDescription.missing_extension,
      "TLS 1.3 ClientHello without signature_algorithms",
    );
  const groups = supportedGroups.decode(sg);
  const shares = keyShare.decodeClient(ks);
  // Read even without a PSK: a malformed one (ke_modes<1..255> empty, say) is decode_error (§4.2.9).
  clientPskModes(hello);
  for (const s of shares) {
    if (!groups.includes(s.group)) {
      throw TLSError.local(
        AlertDescription.illegal_parameter,
        `key share for ${groupName(s.group)}, which is not in supported_groups`,
      );
    }
  }
  const sni = ext(ExtensionType.server_name);
  const a = ext(ExtensionType.application_layer_protocol_negotiation);
  return {
    hello,
    serverName: sni ? sniExt.decode(sni) : undefined,
    groups,
    shares,
    schemes: signatureAlgorithms.decode(sa),
    alpn: a ? alpn.decode(a) : undefined,
  };
}

interface Choice13 {
  readonly suite: CipherSuite13;
  readonly cert: CertifiedKey;
  readonly scheme: number;
  readonly group: NamedGroup;
  readonly alpnProtocol: string | undefined;
}

function choose13(config: ServerConfig, o: Offered13): Choice13 {
  const suite = config.suites13.find((s) => o.hello.cipherSuites.includes(s.id));
  if (!suite)
    throw TLSError.local(
      AlertDescription.handshake_failure,
      "no TLS 1.3 cipher suite in common with the client",
    );
  // Prefer a group the client already sent a share for (no extra round trip), in our order;
  // otherwise the first group of ours the client supports, asked for with a HelloRetryRequest.
  const shared = config.groups.find((g) => o.shares.some((s) => s.group === g));
  const group = shared ?? config.groups.find((g) => o.groups.includes(g));
  if (group === undefined)
    throw TLSError.local(
      AlertDescription.handshake_failure,
      "no key-exchange group in common with the client",
    );
  const byName =
    o.serverName !== undefined ? config.certificates.filter((c) => checkHostname(c.leaf, o.serverName!)) : [];
  const candidates = byName.length > 0 ? byName : config.certificates;
  for (const cert of candidates) {
    const scheme = chooseScheme(config.signatureSchemes, o.schemes, cert.key, TLS13);
    if (scheme !== undefined) return { suite, cert, scheme, group, alpnProtocol: chooseAlpn(config, o) };
  }
  throw TLSError.local(
    AlertDescription.handshake_failure,
    "no certificate with a signature scheme the client accepts",
  );
}

function serverHelloMessage(
  hello: ClientHello,
  random: Uint8Array,
  suite: CipherSuite13,
  ks: Uint8Array | null,
): ServerHello {
  return {
    legacyVersion: ProtocolVersion.TLS1_2,
    random,
    sessionId: hello.sessionId,
    cipherSuite: suite.id,
    compressionMethod: 0,
    extensions: [
      { type: ExtensionType.supported_versions, data: supportedVersions.encodeServer(TLS13) },
      ...(ks ? [{ type: ExtensionType.key_share, data: ks }] : []),
    ],
  };
}

/** Step 1 when TLS 1.3 was negotiated: answer with a ServerHello, or a HelloRetryRequest. */
export function clientHello13(
  ctx: HandshakeContext,
  config: ServerConfig,
  msg: HandshakeMessage,
  hello: ClientHello,
): HandshakeState {
  const offered = readOffer(hello);
  const choice = choose13(config, offered);
  ctx.setVersion(TLS13);
  // We accept no 0-RTT (yet): early data the client sends anyway is skipped, within a bound.
  const share = offered.shares.find((s) => s.group === choice.group);
  if (share) {
    return withPsk(ctx, config, offered, msg, undefined, (psk, early) => {
      ctx.transcript.add(msg.raw);
      return respond(
        ctx,
        config,
        offered,
        psk ? { ...choice, suite: psk.suite } : choice,
        share,
        false,
        false,
        psk,
        early,
      );
    });
  }
  // §4.1.4 HelloRetryRequest: the transcript restarts from message_hash(ClientHello1); early data is refused.
  if (findExtension(hello.extensions, ExtensionType.early_data)) ctx.rejectEarlyData(MAX_REJECTED_EARLY_DATA);
  ctx.transcript.add(messageHash(ctx.crypto.hash(choice.suite.hash, msg.raw)));
  const hrr = serverHelloMessage(
    hello,
    HELLO_RETRY_REQUEST_RANDOM,
    choice.suite,
    keyShare.encodeRetry(choice.group),
  );
  ctx.send(encodeServerHello(hrr), "HelloRetryRequest", {
    suite: choice.suite.name,
    group: groupName(choice.group),
  });
  const compat = hello.sessionId.length > 0;
  if (compat) ctx.sendCompatibilityCcs();
  return new ExpectSecondClientHello(config, offered, choice, compat);
}

/** After a HelloRetryRequest: the ClientHello again, with one share for the group we asked for. */
class ExpectSecondClientHello implements HandshakeState {
  readonly name = "ExpectClientHello2";
  constructor(
    private readonly config: ServerConfig,
    private readonly first: Offered13,
    private readonly choice: Choice13,
    private readonly ccsSent: boolean,
  ) {}
  handle(ctx: HandshakeContext, input: Incoming): HandshakeState {
    const msg = expect(this.name, input, HandshakeType.client_hello);
    const hello = decodeClientHello(msg.body);
    ctx.received("ClientHello", { ...describeClientHello(hello), retry: "after HelloRetryRequest" });
    const sv = findExtension(hello.extensions, ExtensionType.supported_versions);
    if (!sv || !supportedVersions.decodeClient(sv).includes(TLS13)) {
      throw TLSError.local(AlertDescription.illegal_parameter, "second ClientHello does not offer TLS 1.3");
    }
    const offered = readOffer(hello);
    if (findExtension(hello.extensions, ExtensionType.early_data)) {
      // §4.2.10: "A client MUST NOT include the early_data extension in its followup ClientHello."
      throw TLSError.local(AlertDescription.illegal_parameter, "early_data in the second ClientHello");
    }
    if (
      !equalBytes(hello.sessionId, this.first.hello.sessionId) ||
      !equalBytes(hello.random, this.first.hello.random)
    ) {
      throw TLSError.local(
        AlertDescription.illegal_parameter,
        "second ClientHello changed its random or session id",
      );
    }
    if (!hello.cipherSuites.includes(this.choice.suite.id)) {
      throw TLSError.local(
        AlertDescription.illegal_parameter,
        "second ClientHello no longer offers the chosen suite",
      );
    }
    const share = offered.shares.length === 1 ? offered.shares[0] : undefined;
    if (!share || share.group !== this.choice.group) {
      throw TLSError.local(
        AlertDescription.illegal_parameter,
        `second ClientHello must carry exactly one share, for ${groupName(this.choice.group)}`,
      );
    }
    return withPsk(ctx, this.config, offered, msg, this.choice.suite, (psk) => {
      ctx.transcript.add(msg.raw);
      return respond(ctx, this.config, offered, this.choice, share, this.ccsSent, true, psk, false);
    });
  }
}

/**
 * Resumption: picks the PSK (if any fits) and, for single-use tickets, records its use in the
 * session store first (possibly asynchronously; a failing store means a full handshake).
 */
function withPsk(
  ctx: HandshakeContext,
  config: ServerConfig,
  offered: Offered13,
  msg: HandshakeMessage,
  fixedSuite: CipherSuite13 | undefined,
  next: (psk: AcceptedPsk | undefined, early: boolean) => HandshakeState,
): HandshakeState {
  const psk = choosePsk(
    ctx.crypto,
    config,
    offered.hello,
    msg.raw,
    ctx.transcript.bytes(),
    offered.serverName,
    fixedSuite,
  );
  // 0-RTT (§4.2.10): only with the first PSK, before any HelloRetryRequest, with the ticket's own
  // suite, and (replay protection) only the first time a ticket is seen, as the shared store says.
  const earlyCandidate =
    psk !== undefined &&
    findExtension(offered.hello.extensions, ExtensionType.early_data) !== undefined &&
    config.maxEarlyData > 0 &&
    psk.state.maxEarlyData > 0 &&
    psk.index === 0 &&
    fixedSuite === undefined &&
    psk.suite.id === psk.state.cipherSuite;
  if (!psk || (!config.singleUseTickets && !earlyCandidate)) return next(psk, false);
  return afterOr(
    () => config.sessionStore.markUsed(psk.ticketId, config.sessionLifetime),
    false,
    config.onSessionStoreError,
    (fresh) =>
      config.singleUseTickets && !fresh ? next(undefined, false) : next(psk, earlyCandidate && fresh),
  );
}

/** ServerHello and the server's encrypted flight. */
function respond(
  ctx: HandshakeContext,
  config: ServerConfig,
  offered: Offered13,
  choice: Choice13,
  share: KeyShareEntry,
  ccsSent: boolean,
  retried: boolean,
  psk: AcceptedPsk | undefined,
  earlyOk: boolean,
): HandshakeState {
  const { suite } = choice;
  const hash = suite.hash;
  const dhe = !psk || psk.dhe;
  // The early data must be for the same ALPN protocol as the ticket's (§4.2.10).
  const early = earlyOk && psk !== undefined && choice.alpnProtocol === psk.state.alpnProtocol;
  const offeredEarly = findExtension(offered.hello.extensions, ExtensionType.early_data) !== undefined;
  // client_early_traffic_secret is over the ClientHello alone (the transcript now).
  const earlySecret =
    early && psk
      ? new KeySchedule13(ctx.crypto, hash, psk.state.secret).clientEarlyTraffic(
          ctx.transcript.hash(ctx.crypto, hash),
        )
      : undefined;
  const kx = dhe ? ctx.crypto.respond(choice.group, share.keyExchange) : null;
  const random = ctx.crypto.random(32);
  const sh = serverHelloMessage(
    offered.hello,
    random,
    suite,
    kx ? keyShare.encodeServer({ group: choice.group, keyExchange: kx.share }) : null,
  );
  if (psk)
    sh.extensions.push({ type: ExtensionType.pre_shared_key, data: preSharedKey.encodeServer(psk.index) });
  ctx.send(encodeServerHello(sh), "ServerHello", {
    version: "TLSv1.3",
    suite: suite.name,
    ...(kx ? { group: groupName(choice.group) } : {}),
    ...(psk ? { resumption: psk.dhe ? "psk_dhe_ke" : "psk_ke" } : {}),
    ...(offered.serverName ? { sni: offered.serverName } : {}),
  });
  const schedule = new KeySchedule13(ctx.crypto, hash, psk?.state.secret);
  const sharedSecret = kx ? kx.secret : new Uint8Array(hashLength(hash));
  const hs = schedule.handshake(sharedSecret, ctx.transcript.hash(ctx.crypto, hash));
  sharedSecret.fill(0);
  const cr = offered.hello.random;
  ctx.keylog("CLIENT_HANDSHAKE_TRAFFIC_SECRET", cr, hs.client);
  ctx.keylog("SERVER_HANDSHAKE_TRAFFIC_SECRET", cr, hs.server);

  const sHs = trafficKeys(ctx.crypto, hash, hs.server, suite.keyLength);
  const hsWrite = new Aead13Protection(ctx.crypto, suite.aead, sHs.key, sHs.iv);
  if (offered.hello.sessionId.length > 0 && !ccsSent) ctx.sendCompatibilityCcs();
  ctx.changeWriteProtection(hsWrite);
  const cHs = trafficKeys(ctx.crypto, hash, hs.client, suite.keyLength);
  const hsRead = new Aead13Protection(ctx.crypto, suite.aead, cHs.key, cHs.iv);
  if (earlySecret) {
    // Accepted 0-RTT: the client's records are under its early keys until EndOfEarlyData.
    ctx.keylog("CLIENT_EARLY_TRAFFIC_SECRET", offered.hello.random, earlySecret);
    const ek = trafficKeys(ctx.crypto, hash, earlySecret, suite.keyLength);
    ctx.changeReadProtection(new Aead13Protection(ctx.crypto, suite.aead, ek.key, ek.iv));
    ctx.acceptEarlyData(psk?.state.maxEarlyData ?? 0);
  } else {
    if (offeredEarly) ctx.rejectEarlyData(MAX_REJECTED_EARLY_DATA);
    ctx.changeReadProtection(hsRead);
  }

  // {EncryptedExtensions}
  const ee: Extension[] = [];
  if (earlySecret) ee.push({ type: ExtensionType.early_data, data: new Uint8Array(0) });
  if (offered.serverName !== undefined) ee.push({ type: ExtensionType.server_name, data: new Uint8Array(0) });
  if (choice.alpnProtocol !== undefined) {
    ee.push({
      type: ExtensionType.application_layer_protocol_negotiation,
      data: alpn.encode([choice.alpnProtocol]),
    });
  }
  ctx.send(encodeEncryptedExtensions(ee), "EncryptedExtensions", {
    ...(choice.alpnProtocol ? { alpn: choice.alpnProtocol } : {}),
    ...(offeredEarly ? { early_data: earlySecret ? "accepted" : "rejected" } : {}),
  });

  // A resumed session is authenticated by the PSK: no CertificateRequest, Certificate, CertificateVerify.
  // {CertificateRequest} (seed step 4)
  const requested = config.clientAuth !== "none" && !psk;
  if (requested) {
    const schemes = config.signatureSchemes.filter(
      (s) => s >> 8 !== 0x02 && s !== 0x0401 && s !== 0x0501 && s !== 0x0601,
    );
    ctx.send(
      encodeCertificateRequest13({
        context: new Uint8Array(0),
        extensions: [{ type: ExtensionType.signature_algorithms, data: signatureAlgorithms.encode(schemes) }],
      }),
      "CertificateRequest",
      { sigalgs: schemes.map(schemeName).join(",") },
    );
  }

  // {Certificate} (seed step 3) and {CertificateVerify}
  if (!psk) sendCertificate(ctx, choice, hash);

  // {Finished} (seed step 13), then application keys for writing.
  const verifyData = finishedMac(ctx.crypto, hash, hs.server, ctx.transcript.hash(ctx.crypto, hash));
  ctx.send(encodeFinished(verifyData), "Finished", { verify_data: `${verifyData.length} bytes` });
  const app = schedule.application(ctx.transcript.hash(ctx.crypto, hash));
  ctx.keylog("CLIENT_TRAFFIC_SECRET_0", cr, app.client);
  ctx.keylog("SERVER_TRAFFIC_SECRET_0", cr, app.server);
  ctx.keylog("EXPORTER_SECRET", cr, app.exporter);
  const sAp = trafficKeys(ctx.crypto, hash, app.server, suite.keyLength);
  ctx.changeWriteProtection(new Aead13Protection(ctx.crypto, suite.aead, sAp.key, sAp.iv));

  const s: Session13 = {
    config,
    offered,
    choice,
    schedule,
    clientHs: hs.client,
    app,
    serverRandom: random,
    requested,
    retried,
    psk,
    early: offeredEarly ? (earlySecret ? "accepted" : "rejected") : undefined,
  };
  const next = requested ? new ExpectClientCertificate13(s) : new ExpectClientFinished13(s, null, undefined);
  return earlySecret ? new ExpectEndOfEarlyData(next, hsRead) : next;
}

/** {Certificate} and {CertificateVerify}: the server proves its identity (full handshakes only). */
function sendCertificate(ctx: HandshakeContext, choice: Choice13, hash: CipherSuite13["hash"]): void {
  ctx.send(
    encodeCertificate13({
      context: new Uint8Array(0),
      entries: choice.cert.chain.map((c) => ({ cert: c, extensions: [] })),
    }),
    "Certificate",
    { chain: choice.cert.leaf.subject.toString() },
  );
  const content = certificateVerifyContent("server", ctx.transcript.hash(ctx.crypto, hash));
  ctx.send(
    encodeCertificateVerify({
      scheme: choice.scheme,
      signature: ctx.crypto.sign(choice.scheme, choice.cert.key, content),
    }),
    "CertificateVerify",
    { scheme: schemeName(choice.scheme) },
  );
}

/** Accepted 0-RTT: early data flows (the Connection reports it) until EndOfEarlyData (§4.5). */
class ExpectEndOfEarlyData implements HandshakeState {
  readonly name = "ExpectEndOfEarlyData";
  constructor(
    private readonly next: HandshakeState,
    private readonly hsRead: Aead13Protection,
  ) {}
  handle(ctx: HandshakeContext, input: Incoming): HandshakeState {
    const msg = expect(this.name, input, HandshakeType.end_of_early_data);
    if (msg.body.length !== 0)
      throw TLSError.local(AlertDescription.decode_error, "EndOfEarlyData must be empty");
    ctx.received("EndOfEarlyData");
    ctx.transcript.add(msg.raw);
    ctx.endEarlyData();
    ctx.changeReadProtection(this.hsRead);
    return this.next;
  }
}

interface Session13 {
  readonly config: ServerConfig;
  readonly offered: Offered13;
  readonly choice: Choice13;
  readonly schedule: KeySchedule13;
  readonly clientHs: Uint8Array;
  readonly app: { client: Uint8Array; server: Uint8Array; exporter: Uint8Array };
  readonly serverRandom: Uint8Array;
  readonly requested: boolean;
  readonly retried: boolean;
  readonly psk: AcceptedPsk | undefined;
  readonly early: "accepted" | "rejected" | undefined;
}

/** {Certificate} from the client (seed step 7), possibly empty. */
class ExpectClientCertificate13 implements HandshakeState {
  readonly name = "ExpectClientCertificate";
  constructor(private readonly s: Session13) {}
  handle(ctx: HandshakeContext, input: Incoming): HandshakeState {
    const msg = expect(this.name, input, HandshakeType.certificate);
    const cert = decodeCertificate13(msg.body, this.s.config.maxCertificateChainLength);
    if (cert.context.length !== 0)
      throw TLSError.local(
        AlertDescription.illegal_parameter,
        "client Certificate with an unexpected request context",
      );
    for (const e of cert.entries) {
      // §4.4.2: the client's entry extensions answer our CertificateRequest, which asks for none.
      const ext = e.extensions[0];
      if (ext)
        throw TLSError.local(
          AlertDescription.unsupported_extension,
          `${extensionName(ext.type)} in a client CertificateEntry was not requested`,
        );
    }
    ctx.transcript.add(msg.raw);
    if (cert.entries.length === 0) {
      ctx.received("Certificate", { chain: "(empty)" });
      if (this.s.config.clientAuth === "require") {
        // §4.4.2.4: certificate_required when the server insists.
        throw TLSError.local(
          AlertDescription.certificate_required,
          "client sent no certificate, and one is required",
          "ERR_TLS_CLIENT_CERT_REQUIRED",
        );
      }
      return new ExpectClientFinished13(this.s, null, undefined);
    }
    const peer = verifyPeerChain(
      ctx.crypto,
      this.s.config.verifier,
      cert.entries.map((e) => e.cert),
      "clientAuth",
      undefined,
    );
    ctx.received("Certificate", {
      chain: peer.certificates.map((c) => c.subject.toString()).join(" <- "),
      verified: "true",
    });
    return new ExpectClientCertificateVerify13(this.s, peer);
  }
}

/** {CertificateVerify} from the client (seed step 9). */
class ExpectClientCertificateVerify13 implements HandshakeState {
  readonly name = "ExpectClientCertificateVerify";
  constructor(
    private readonly s: Session13,
    private readonly peer: PeerIdentity,
  ) {}
  handle(ctx: HandshakeContext, input: Incoming): HandshakeState {
    const msg = expect(this.name, input, HandshakeType.certificate_verify);
    const scheme = checkCertificateVerify13(
      ctx,
      msg,
      "client",
      this.s.config.signatureSchemes,
      this.peer,
      this.s.choice.suite.hash,
    );
    return new ExpectClientFinished13(this.s, this.peer, scheme);
  }
}

/** {Finished} from the client (seed step 11); then the connection is established. */
class ExpectClientFinished13 implements HandshakeState {
  readonly name = "ExpectFinished";
  constructor(
    private readonly s: Session13,
    private readonly peer: PeerIdentity | null,
    private readonly peerScheme: number | undefined,
  ) {}
  handle(ctx: HandshakeContext, input: Incoming): HandshakeState {
    const s = this.s;
    const { suite } = s.choice;
    const hash = suite.hash;
    const msg = expect(this.name, input, HandshakeType.finished);
    checkFinished13(ctx, msg, hash, s.clientHs, "client");
    const resumption = s.schedule.resumption(ctx.transcript.hash(ctx.crypto, hash));
    s.schedule.forget();
    const cAp = trafficKeys(ctx.crypto, hash, s.app.client, suite.keyLength);
    ctx.changeReadProtection(new Aead13Protection(ctx.crypto, suite.aead, cAp.key, cAp.iv));
    const exporterSecret = s.app.exporter;
    const peerCertificates = s.psk
      ? s.psk.state.peerCertificates.map((der) => parseCertificate(der))
      : (this.peer?.certificates ?? []);
    // Tickets go out before the application hears of the handshake, so that whatever it sends or
    // closes in its handler comes after them (a ticket after our close_notify would be lost).
    issueTickets(
      ctx,
      s,
      resumption,
      peerCertificates.map((c) => c.der),
    );
    resumption.fill(0);
    ctx.complete(
      {
        version: TLS13,
        protocol: "TLSv1.3",
        cipherSuite: suite,
        ...(s.psk && !s.psk.dhe ? {} : { group: s.choice.group }),
        ...(s.offered.serverName !== undefined ? { serverName: s.offered.serverName } : {}),
        ...(s.choice.alpnProtocol !== undefined ? { alpnProtocol: s.choice.alpnProtocol } : {}),
        peerCertificates: peerCertificates,
        peerVerified: s.psk ? peerCertificates.length > 0 : (this.peer?.verified ?? false),
        ...(this.peer ? { peerPublicKey: this.peer.publicKey } : {}),
        ...(this.peerScheme !== undefined ? { peerSignatureScheme: this.peerScheme } : {}),
        ...(s.psk ? {} : { signatureScheme: s.choice.scheme }),
        extendedMasterSecret: true,
        clientCertificateRequested: s.requested,
        resumed: s.psk !== undefined,
        ...(s.psk ? { resumedWith: s.psk.dhe ? ("psk_dhe_ke" as const) : ("psk_ke" as const) } : {}),
        helloRetry: s.retried,
        ...(s.early ? { earlyData: s.early } : {}),
        clientRandom: s.offered.hello.random,
        serverRandom: s.serverRandom,
      },
      {
        exporter: (label, context, length) =>
          exporter13(ctx.crypto, hash, exporterSecret, label, context ?? new Uint8Array(0), length),
        wipe: () => exporterSecret.fill(0),
      },
    );
    return new Established13("server", suite, s.app.server, s.app.client, null);
  }
}

/**
 * NewSessionTicket (§4.6.1) after the handshake: the session, sealed with the ticket keys, is the
 * ticket (stateless: any server with the keys resumes it). Sent only to clients that said which
 * PSK modes they accept, and only for a mode we accept.
 */
function issueTickets(
  ctx: HandshakeContext,
  s: Session13,
  resumption: Uint8Array,
  peerCertificates: Uint8Array[],
): void {
  const { config, choice } = s;
  if (!config.sessionTickets || config.ticketsPerConnection <= 0) return;
  const modes = clientPskModes(s.offered.hello);
  if (!modes) return;
  if (
    !modes.includes(PskKeyExchangeMode.psk_dhe_ke) &&
    !(config.allowPskOnlyResumption && modes.includes(PskKeyExchangeMode.psk_ke))
  )
    return;
  for (let i = 0; i < config.ticketsPerConnection; i++) {
    const nonce = Uint8Array.of(i);
    const state: SessionState = {
      version: TLS13,
      cipherSuite: choice.suite.id,
      secret: ticketPsk(ctx.crypto, choice.suite.hash, resumption, nonce),
      extendedMasterSecret: true,
      serverName: s.offered.serverName,
      alpnProtocol: choice.alpnProtocol,
      peerCertificates,
      createdAt: Date.now(),
      lifetime: config.sessionLifetime,
      ageAdd: new DataView(ctx.crypto.random(4).buffer).getUint32(0),
      maxEarlyData: config.maxEarlyData,
      ticket: new Uint8Array(0),
      sessionId: new Uint8Array(0),
    };
    const ticket = config.ticketKeys.seal(encodeSessionState(state));
    state.secret.fill(0);
    ctx.sendPostHandshake(
      encodeNewSessionTicket13({
        lifetime: state.lifetime,
        ageAdd: state.ageAdd,
        nonce,
        ticket,
        // §4.6.1: early_data with max_early_data_size when 0-RTT is on.
        extensions:
          config.maxEarlyData > 0 ? [{ type: ExtensionType.early_data, data: u32(config.maxEarlyData) }] : [],
      }),
      "NewSessionTicket",
      { lifetime: `${state.lifetime}s`, ticket: `${ticket.length} bytes` },
    );
  }
}
