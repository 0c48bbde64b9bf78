import { AlertDescription } from "../alert.js";
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
import type { SessionState } from "../session/session.js";
import { type CipherSuite13, suite13ById } from "../suites.js";
import { constantTimeEqual, equalBytes } from "../wire/bytes.js";
import { parseCertificate } from "../x509/certificate.js";
import { helloWithPsk, type Offer13 } from "./client.js";
import { BurstLimit, expect, type PeerIdentity, unexpected, verifyPeerChain } from "./common.js";
import type { HandshakeContext, HandshakeState, Incoming } from "./context.js";
import {
  exporter13,
  finishedMac,
  KeySchedule13,
  nextTrafficSecret,
  ticketPsk,
  trafficKeys,
} from "./keyschedule13.js";
import { type ClientHello, describeClientHello, encodeClientHello } from "./messages/client-hello.js";
import {
  alpn,
  cookie as cookieExt,
  type Extension,
  extensionName,
  findExtension,
  keyShare as keyShareExt,
  preSharedKey,
  signatureAlgorithms,
} from "./messages/extensions.js";
import { frameHandshake, type HandshakeMessage } from "./messages/framing.js";
import { decodeServerHello, type ServerHello } from "./messages/server-hello.js";
import {
  decodeCertificateVerify,
  decodeFinished,
  encodeCertificateVerify,
  encodeFinished,
} from "./messages/simple.js";
import {
  certificateVerifyContent,
  decodeCertificate13,
  decodeCertificateRequest13,
  decodeEncryptedExtensions,
  decodeKeyUpdate,
  decodeNewSessionTicket13,
  encodeCertificate13,
  encodeKeyUpdate,
  HELLO_RETRY_REQUEST_RANDOM,
  messageHash,
} from "./messages/tls13.js";
import { checkPeerScheme, chooseScheme } from "./signing.js";

/**
 * The TLS 1.3 client (RFC 8446 §2, §4). The flight, numbered after the seed's steps it replaces:
 *   1 ClientHello (+key_share)  →  2 ServerHello (+key_share)  [HelloRetryRequest: 1 again]
 *   {EncryptedExtensions}  {4 CertificateRequest}  {3 Certificate}  {CertificateVerify: proves the
 *   server's key, in place of 5's signature}  {13 Finished}  →  {7 Certificate}  {9 CertificateVerify}
 *   {11 Finished}. Steps 6, 8, 10 and 12 are gone: the key exchange rides in the hellos, and keys
 *   change without ChangeCipherSpec (a dummy one is sent for middleboxes only).
 */

const TLS13 = ProtocolVersion.TLS1_3;
/** Extensions a ServerHello / HelloRetryRequest may carry (RFC 8446 §4.2 table). */
const SERVER_HELLO_EXTENSIONS = new Set<number>([
  ExtensionType.supported_versions,
  ExtensionType.key_share,
  ExtensionType.pre_shared_key,
]);
const HRR_EXTENSIONS = new Set<number>([
  ExtensionType.supported_versions,
  ExtensionType.key_share,
  ExtensionType.cookie,
]);
/** Extensions that may appear in EncryptedExtensions (everything else we know is illegal there). */
const EE_EXTENSIONS = new Set<number>([
  ExtensionType.server_name,
  ExtensionType.max_fragment_length,
  ExtensionType.supported_groups,
  ExtensionType.application_layer_protocol_negotiation,
  ExtensionType.early_data,
  28, // record_size_limit
]);

function checkOfferedAndAllowed(
  exts: readonly Extension[],
  offered: readonly Extension[],
  allowed: Set<number>,
  where: string,
): void {
  for (const e of exts) {
    // A HelloRetryRequest may start a cookie exchange the client did not (§4.2.2).
    const serverInitiated = where === "HelloRetryRequest" && e.type === ExtensionType.cookie;
    if (!serverInitiated && !offered.some((o) => o.type === e.type)) {
      throw TLSError.local(
        AlertDescription.unsupported_extension,
        `${extensionName(e.type)} in ${where} was not offered`,
      );
    }
    if (!allowed.has(e.type)) {
      throw TLSError.local(
        AlertDescription.illegal_parameter,
        `${extensionName(e.type)} is not allowed in ${where}`,
      );
    }
  }
}

interface Hrr {
  readonly suite: CipherSuite13;
  /** The group the HelloRetryRequest asked for; undefined for a cookie-only retry (the shares stay). */
  readonly group: number | undefined;
}

/** Step 2 (TLS 1.3): a ServerHello or a HelloRetryRequest. */
export function serverHello13(
  ctx: HandshakeContext,
  offer: Offer13,
  msg: HandshakeMessage,
  sh: ServerHello,
  hrr?: Hrr,
): HandshakeState {
  const { hello } = offer;
  const isHrr = equalBytes(sh.random, HELLO_RETRY_REQUEST_RANDOM);
  const ksData = findExtension(sh.extensions, ExtensionType.key_share);
  let shGroup = "";
  try {
    if (ksData)
      shGroup = groupName(isHrr ? keyShareExt.decodeRetry(ksData) : keyShareExt.decodeServer(ksData).group);
  } catch {
    shGroup = "(malformed)";
  }
  ctx.received(isHrr ? "HelloRetryRequest" : "ServerHello", {
    version: "TLSv1.3",
    suite: suite13ById(sh.cipherSuite)?.name ?? `0x${sh.cipherSuite.toString(16)}`,
    ...(shGroup ? { group: shGroup } : {}),
  });
  const suite = suite13ById(sh.cipherSuite);
  if (!suite || !hello.cipherSuites.includes(sh.cipherSuite)) {
    throw TLSError.local(
      AlertDescription.illegal_parameter,
      `server chose cipher suite 0x${sh.cipherSuite.toString(16)}, which was not offered`,
    );
  }
  if (!equalBytes(sh.sessionId, hello.sessionId)) {
    throw TLSError.local(AlertDescription.illegal_parameter, "legacy_session_id_echo does not match");
  }
  if (sh.compressionMethod !== 0)
    throw TLSError.local(AlertDescription.illegal_parameter, "server chose a compression method");
  checkOfferedAndAllowed(
    sh.extensions,
    hello.extensions,
    isHrr ? HRR_EXTENSIONS : SERVER_HELLO_EXTENSIONS,
    isHrr ? "HelloRetryRequest" : "ServerHello",
  );
  if (isHrr) {
    if (hrr) throw TLSError.local(AlertDescription.unexpected_message, "a second HelloRetryRequest");
    return helloRetry(ctx, offer, msg, sh, suite);
  }
  if (hrr && hrr.suite !== suite) {
    throw TLSError.local(
      AlertDescription.illegal_parameter,
      "ServerHello suite differs from the HelloRetryRequest's",
    );
  }

  // Resumption (§4.2.11): the server accepted our only PSK, for a suite with its hash.
  const pskExt = findExtension(sh.extensions, ExtensionType.pre_shared_key);
  let psk: SessionState | undefined;
  if (pskExt) {
    const selected = preSharedKey.decodeServer(pskExt);
    if (!offer.psk || selected !== 0)
      throw TLSError.local(AlertDescription.illegal_parameter, "server selected a PSK that was not offered");
    if (offer.psk.suite.hash !== suite.hash) {
      throw TLSError.local(AlertDescription.illegal_parameter, "server resumed with a suite of another hash");
    }
    psk = offer.psk.state;
  }
  const ks = findExtension(sh.extensions, ExtensionType.key_share);
  // We offer psk_dhe_ke only: a key share is always needed.
  if (!ks) throw TLSError.local(AlertDescription.missing_extension, "ServerHello without key_share");
  const entry = keyShareExt.decodeServer(ks);
  const share = offer.shares.find((s) => s.group === entry.group);
  if (!share || (hrr?.group !== undefined && hrr.group !== entry.group)) {
    throw TLSError.local(
      AlertDescription.illegal_parameter,
      `server key share for ${groupName(entry.group)}, which was not offered`,
    );
  }
  const shared = share.agree(entry.keyExchange);
  ctx.setVersion(TLS13);
  ctx.transcript.add(msg.raw);
  const schedule = new KeySchedule13(ctx.crypto, suite.hash, psk?.secret);
  const hs = schedule.handshake(shared, ctx.transcript.hash(ctx.crypto, suite.hash));
  shared.fill(0);
  ctx.keylog("CLIENT_HANDSHAKE_TRAFFIC_SECRET", offer.clientRandom, hs.client);
  ctx.keylog("SERVER_HANDSHAKE_TRAFFIC_SECRET", offer.clientRandom, hs.server);
  const sk = trafficKeys(ctx.crypto, suite.hash, hs.server, suite.keyLength);
  ctx.changeReadProtection(new Aead13Protection(ctx.crypto, suite.aead, sk.key, sk.iv));
  // From here on we write under our handshake keys: an alert about the server's flight too, as Go
  // and rustls do. (The dummy ChangeCipherSpec, always in the clear, still goes just before our
  // flight, §D.4.) With 0-RTT in flight the early keys stay until EncryptedExtensions says
  // whether EndOfEarlyData must follow.
  const writeKeysSet = !offer.early;
  if (writeKeysSet) {
    const ck = trafficKeys(ctx.crypto, suite.hash, hs.client, suite.keyLength);
    ctx.changeWriteProtection(new Aead13Protection(ctx.crypto, suite.aead, ck.key, ck.iv));
  }
  return new ExpectEncryptedExtensions({
    writeKeysSet,
    ...offer,
    suite,
    group: entry.group,
    schedule,
    clientHs: hs.client,
    serverHs: hs.server,
    serverRandom: sh.random,
    retried: hrr !== undefined,
    resumed: psk,
  });
}

/** RFC 8446 §4.1.4: answer a HelloRetryRequest once, with a share for the group it names and its cookie. */
function helloRetry(
  ctx: HandshakeContext,
  offer: Offer13,
  msg: HandshakeMessage,
  hrrMsg: ServerHello,
  suite: CipherSuite13,
): HandshakeState {
  const { hello, config } = offer;
  const ks = findExtension(hrrMsg.extensions, ExtensionType.key_share);
  const ck = findExtension(hrrMsg.extensions, ExtensionType.cookie);
  if (!ks && !ck)
    throw TLSError.local(
      AlertDescription.illegal_parameter,
      "HelloRetryRequest would not change the ClientHello",
    );
  let shares = offer.shares;
  let group: number | undefined;
  if (ks) {
    group = keyShareExt.decodeRetry(ks);
    if (!config.groups.includes(group) || offer.shares.some((s) => s.group === group)) {
      throw TLSError.local(
        AlertDescription.illegal_parameter,
        `HelloRetryRequest asks for ${groupName(group)}, which is not acceptable`,
      );
    }
    shares = [ctx.crypto.keyShare(group as NamedGroup)];
  }
  // The version is settled: from here a dummy ChangeCipherSpec from the server is dropped (§5).
  ctx.setVersion(TLS13);
  // The transcript restarts from message_hash(ClientHello1) (§4.4.1).
  const ch1 = ctx.transcript.bytes();
  ctx.transcript.reset(messageHash(ctx.crypto.hash(suite.hash, ch1)));
  ctx.transcript.add(msg.raw);

  const extensions: Extension[] = hello.extensions
    .filter((e) => e.type !== ExtensionType.early_data && e.type !== ExtensionType.cookie)
    .map((e) =>
      e.type === ExtensionType.key_share
        ? {
            type: e.type,
            data: keyShareExt.encodeClient(shares.map((s) => ({ group: s.group, keyExchange: s.publicKey }))),
          }
        : e,
    );
  if (ck) extensions.push({ type: ExtensionType.cookie, data: cookieExt.encode(cookieExt.decode(ck)) });
  // The PSK stays only if its hash fits the suite the server chose; its binder covers the new transcript.
  const keepPsk = offer.psk && offer.psk.suite.hash === suite.hash ? offer.psk : undefined;
  let hello2: ClientHello = {
    ...hello,
    extensions: extensions.filter((e) => e.type !== ExtensionType.pre_shared_key),
  };
  let msg2 = encodeClientHello(hello2);
  if (keepPsk) ({ hello: hello2, msg: msg2 } = helloWithPsk(ctx, hello2, keepPsk, ctx.transcript.bytes()));
  // After 0-RTT, the second ClientHello goes in the clear again (and carries no early_data).
  if (offer.early) ctx.changeWriteProtection(null);
  ctx.send(msg2, "ClientHello", {
    ...describeClientHello(hello2),
    retry:
      group !== undefined
        ? `after HelloRetryRequest for ${groupName(group)}`
        : "after HelloRetryRequest (cookie)",
  });
  const offer2: Offer13 = { ...offer, hello: hello2, shares, psk: keepPsk };
  return new ExpectServerHelloAfterRetry(offer2, { suite, group });
}

class ExpectServerHelloAfterRetry implements HandshakeState {
  readonly name = "ExpectServerHello";
  constructor(
    private readonly offer: Offer13,
    private readonly hrr: Hrr,
  ) {}
  handle(ctx: HandshakeContext, input: Incoming): HandshakeState {
    const msg = expect(this.name, input, HandshakeType.server_hello);
    const sh = decodeServerHelloChecked(msg.body);
    return serverHello13(ctx, this.offer, msg, sh, this.hrr);
  }
}

/** After a HelloRetryRequest the version is fixed: the ServerHello must say TLS 1.3 again. */
function decodeServerHelloChecked(body: Uint8Array): ServerHello {
  const sh = decodeServerHello(body);
  const sv = findExtension(sh.extensions, ExtensionType.supported_versions);
  if (sv?.length !== 2 || ((sv[0]! << 8) | sv[1]!) !== TLS13) {
    throw TLSError.local(
      AlertDescription.illegal_parameter,
      "ServerHello after HelloRetryRequest must select TLS 1.3",
    );
  }
  return sh;
}

interface Hs extends Offer13 {
  readonly suite: CipherSuite13;
  readonly group: number;
  readonly schedule: KeySchedule13;
  readonly clientHs: Uint8Array;
  readonly serverHs: Uint8Array;
  readonly serverRandom: Uint8Array;
  readonly retried: boolean;
  /** Our write side is already under the client handshake keys (set at the ServerHello). */
  readonly writeKeysSet: boolean;
  /** The session being resumed: no certificate messages follow EncryptedExtensions. */
  readonly resumed: SessionState | undefined;
}

interface AfterEE extends Hs {
  readonly alpnProtocol: string | undefined;
  /** The server took our 0-RTT data (early_data in EncryptedExtensions). */
  readonly earlyAccepted: boolean;
}

/** {EncryptedExtensions}: the server's answers to our extensions, under handshake keys. */
class ExpectEncryptedExtensions implements HandshakeState {
  readonly name = "ExpectEncryptedExtensions";
  constructor(private readonly h: Hs) {}
  handle(ctx: HandshakeContext, input: Incoming): HandshakeState {
    const msg = expect(this.name, input, HandshakeType.encrypted_extensions);
    const exts = decodeEncryptedExtensions(msg.body);
    checkOfferedAndAllowed(exts, this.h.hello.extensions, EE_EXTENSIONS, "EncryptedExtensions");
    let alpnProtocol: string | undefined;
    const a = findExtension(exts, ExtensionType.application_layer_protocol_negotiation);
    if (a) {
      const list = alpn.decode(a);
      if (list.length !== 1 || !this.h.config.alpnProtocols.includes(list[0]!)) {
        throw TLSError.local(
          AlertDescription.illegal_parameter,
          "server selected an ALPN protocol that was not offered",
        );
      }
      alpnProtocol = list[0];
    }
    // §4.2.10: the server accepts 0-RTT only with the first PSK and its own suite.
    const earlyAccepted = findExtension(exts, ExtensionType.early_data) !== undefined;
    if (earlyAccepted && (!this.h.early || !this.h.resumed || this.h.psk?.suite.id !== this.h.suite.id)) {
      throw TLSError.local(
        AlertDescription.illegal_parameter,
        "early_data accepted without a usable 0-RTT offer",
      );
    }
    const sni = findExtension(exts, ExtensionType.server_name);
    if (sni && sni.length !== 0)
      throw TLSError.local(AlertDescription.decode_error, "server_name in EncryptedExtensions must be empty");
    ctx.received("EncryptedExtensions", {
      extensions: exts.map((e) => extensionName(e.type)).join(",") || "(none)",
      ...(alpnProtocol ? { alpn: alpnProtocol } : {}),
    });
    ctx.transcript.add(msg.raw);
    if (this.h.resumed) {
      // The server authenticated in the original handshake; its chain comes from the session.
      const r = this.h.resumed;
      const certificates = r.peerCertificates.map((der) => parseCertificate(der));
      const leaf = certificates[0];
      const peer: PeerIdentity | null = leaf
        ? {
            certificates,
            publicKey: ctx.crypto.importPublicKey(leaf.spki),
            verified: this.h.config.verifier !== null,
          }
        : null;
      return new ExpectFinished({ ...this.h, alpnProtocol, earlyAccepted }, null, peer, undefined);
    }
    return new ExpectCertificateOrRequest({ ...this.h, alpnProtocol, earlyAccepted });
  }
}

/** {CertificateRequest} (optional, step 4) or {Certificate} (step 3). */
class ExpectCertificateOrRequest implements HandshakeState {
  readonly name = "ExpectCertificateOrCertificateRequest";
  constructor(private readonly h: AfterEE) {}
  handle(ctx: HandshakeContext, input: Incoming): HandshakeState {
    if (input.kind === "handshake" && input.msg.type === HandshakeType.certificate_request) {
      const req = decodeCertificateRequest13(input.msg.body);
      if (req.context.length !== 0) {
        throw TLSError.local(
          AlertDescription.illegal_parameter,
          "certificate_request_context must be empty in the handshake",
        );
      }
      const sa = findExtension(req.extensions, ExtensionType.signature_algorithms);
      if (!sa)
        throw TLSError.local(
          AlertDescription.missing_extension,
          "CertificateRequest without signature_algorithms",
        );
      const schemes = signatureAlgorithms.decode(sa);
      ctx.received("CertificateRequest", { sigalgs: schemes.map(schemeName).join(",") });
      ctx.transcript.add(input.msg.raw);
      return new ExpectCertificate(this.h, schemes);
    }
    return new ExpectCertificate(this.h, null).handle(ctx, input);
  }
}

class ExpectCertificate implements HandshakeState {
  readonly name = "ExpectCertificate";
  constructor(
    private readonly h: AfterEE,
    private readonly requested: number[] | null,
  ) {}
  handle(ctx: HandshakeContext, input: Incoming): HandshakeState {
    const msg = expect(this.name, input, HandshakeType.certificate);
    const cert = decodeCertificate13(msg.body, this.h.config.maxCertificateChainLength);
    if (cert.context.length !== 0)
      throw TLSError.local(AlertDescription.illegal_parameter, "server Certificate with a request context");
    // §4.4.2.4: an empty server Certificate is a decode_error.
    if (cert.entries.length === 0)
      throw TLSError.local(AlertDescription.decode_error, "server sent no certificate");
    for (const e of cert.entries)
      checkOfferedAndAllowed(
        e.extensions,
        this.h.hello.extensions,
        new Set([ExtensionType.status_request, ExtensionType.signed_certificate_timestamp]),
        "CertificateEntry",
      );
    const peer = verifyPeerChain(
      ctx.crypto,
      this.h.config.verifier,
      cert.entries.map((e) => e.cert),
      "serverAuth",
      this.h.serverName,
    );
    ctx.received("Certificate", {
      chain: peer.certificates.map((c) => c.subject.toString()).join(" <- "),
      verified: String(peer.verified),
    });
    ctx.transcript.add(msg.raw);
    return new ExpectCertificateVerify(this.h, this.requested, peer);
  }
}

/** {CertificateVerify}: the server signs the transcript (§4.4.3). */
class ExpectCertificateVerify implements HandshakeState {
  readonly name = "ExpectCertificateVerify";
  constructor(
    private readonly h: AfterEE,
    private readonly requested: number[] | null,
    private readonly peer: PeerIdentity,
  ) {}
  handle(ctx: HandshakeContext, input: Incoming): HandshakeState {
    const msg = expect(this.name, input, HandshakeType.certificate_verify);
    const scheme = checkCertificateVerify13(
      ctx,
      msg,
      "server",
      this.h.config.signatureSchemes,
      this.peer,
      this.h.suite.hash,
    );
    return new ExpectFinished(this.h, this.requested, this.peer, scheme);
  }
}

/** {Finished} from the server; then our flight: {Certificate} {CertificateVerify} {Finished}. */
class ExpectFinished implements HandshakeState {
  readonly name = "ExpectFinished";
  constructor(
    private readonly h: AfterEE,
    private readonly requested: number[] | null,
    /** The server's identity: from this handshake, or from the resumed session (or none). */
    private readonly peer: PeerIdentity | null,
    private readonly peerScheme: number | undefined,
  ) {}
  handle(ctx: HandshakeContext, input: Incoming): HandshakeState {
    const h = this.h;
    const hash = h.suite.hash;
    const msg = expect(this.name, input, HandshakeType.finished);
    checkFinished13(ctx, msg, hash, h.serverHs, "server");

    const app = h.schedule.application(ctx.transcript.hash(ctx.crypto, hash));
    ctx.keylog("CLIENT_TRAFFIC_SECRET_0", h.clientRandom, app.client);
    ctx.keylog("SERVER_TRAFFIC_SECRET_0", h.clientRandom, app.server);
    ctx.keylog("EXPORTER_SECRET", h.clientRandom, app.exporter);
    const sAp = trafficKeys(ctx.crypto, hash, app.server, h.suite.keyLength);
    ctx.changeReadProtection(new Aead13Protection(ctx.crypto, h.suite.aead, sAp.key, sAp.iv));

    // Our flight, under the client handshake keys; the dummy ChangeCipherSpec goes first (§D.4).
    // After 0-RTT: an accepted one ends with EndOfEarlyData, still under the early keys (§4.5).
    if (h.earlyAccepted)
      ctx.send(frameHandshake(HandshakeType.end_of_early_data, new Uint8Array(0)), "EndOfEarlyData");
    if (h.hello.sessionId.length > 0 && !h.early?.ccsSent) ctx.sendCompatibilityCcs();
    if (!h.writeKeysSet) {
      const cHs = trafficKeys(ctx.crypto, hash, h.clientHs, h.suite.keyLength);
      ctx.changeWriteProtection(new Aead13Protection(ctx.crypto, h.suite.aead, cHs.key, cHs.iv));
    }

    let signed: number | undefined;
    if (this.requested) {
      const own = h.config.certificate;
      const scheme = own
        ? chooseScheme(h.config.signatureSchemes, this.requested, own.key, TLS13)
        : undefined;
      const chain = own && scheme !== undefined ? own.chain : [];
      ctx.send(
        encodeCertificate13({
          context: new Uint8Array(0),
          entries: chain.map((c) => ({ cert: c, extensions: [] })),
        }),
        "Certificate",
        {
          chain: chain.length > 0 && own ? own.leaf.subject.toString() : "(empty)",
        },
      );
      if (own && scheme !== undefined) {
        const content = certificateVerifyContent("client", ctx.transcript.hash(ctx.crypto, hash));
        ctx.send(
          encodeCertificateVerify({ scheme, signature: ctx.crypto.sign(scheme, own.key, content) }),
          "CertificateVerify",
          {
            scheme: schemeName(scheme),
          },
        );
        signed = scheme;
      }
    }
    const verifyData = finishedMac(ctx.crypto, hash, h.clientHs, ctx.transcript.hash(ctx.crypto, hash));
    ctx.send(encodeFinished(verifyData), "Finished", { verify_data: `${verifyData.length} bytes` });
    const resumption = h.schedule.resumption(ctx.transcript.hash(ctx.crypto, hash));
    h.schedule.forget();

    const cAp = trafficKeys(ctx.crypto, hash, app.client, h.suite.keyLength);
    ctx.changeWriteProtection(new Aead13Protection(ctx.crypto, h.suite.aead, cAp.key, cAp.iv));
    const exporterSecret = app.exporter;
    ctx.complete(
      {
        version: TLS13,
        protocol: "TLSv1.3",
        cipherSuite: h.suite,
        group: h.group,
        ...(h.serverName !== undefined ? { serverName: h.serverName } : {}),
        ...(h.alpnProtocol !== undefined ? { alpnProtocol: h.alpnProtocol } : {}),
        peerCertificates: this.peer?.certificates ?? [],
        peerVerified: this.peer?.verified ?? false,
        ...(this.peer ? { peerPublicKey: this.peer.publicKey } : {}),
        ...(this.peerScheme !== undefined ? { peerSignatureScheme: this.peerScheme } : {}),
        ...(signed !== undefined ? { signatureScheme: signed } : {}),
        extendedMasterSecret: true,
        clientCertificateRequested: this.requested !== null,
        resumed: h.resumed !== undefined,
        ...(h.resumed ? { resumedWith: "psk_dhe_ke" as const } : {}),
        helloRetry: h.retried,
        ...(h.early ? { earlyData: h.earlyAccepted ? ("accepted" as const) : ("rejected" as const) } : {}),
        clientRandom: h.clientRandom,
        serverRandom: h.serverRandom,
      },
      {
        exporter: (label, context, length) =>
          exporter13(ctx.crypto, hash, exporterSecret, label, context ?? new Uint8Array(0), length),
        wipe: () => exporterSecret.fill(0),
      },
    );
    return new Established13("client", h.suite, app.client, app.server, {
      resumption,
      serverName: h.serverName,
      alpnProtocol: h.alpnProtocol,
      peerCertificates: (this.peer?.certificates ?? []).map((c) => c.der),
    });
  }
}

/**
 * {CertificateVerify} (§4.4.3), either role: a scheme we offered that fits the peer's key, and a
 * signature over the transcript so far with the role's context string. Returns the scheme.
 */
export function checkCertificateVerify13(
  ctx: HandshakeContext,
  msg: HandshakeMessage,
  signer: "server" | "client",
  offered: readonly number[],
  peer: PeerIdentity,
  hash: CipherSuite13["hash"],
): number {
  const cv = decodeCertificateVerify(msg.body);
  ctx.received("CertificateVerify", { scheme: schemeName(cv.scheme) });
  checkPeerScheme(cv.scheme, offered, peer.publicKey, TLS13);
  const content = certificateVerifyContent(signer, ctx.transcript.hash(ctx.crypto, hash));
  if (!ctx.crypto.verify(cv.scheme, peer.publicKey, content, cv.signature)) {
    throw TLSError.local(AlertDescription.decrypt_error, `${signer} CertificateVerify does not verify`);
  }
  ctx.transcript.add(msg.raw);
  return cv.scheme;
}

/**
 * {Finished} from the peer (§4.4.4), either role: HMAC(finished_key of its handshake traffic
 * secret, transcript so far), compared in constant time; then added to the transcript.
 */
export function checkFinished13(
  ctx: HandshakeContext,
  msg: HandshakeMessage,
  hash: CipherSuite13["hash"],
  peerHandshakeSecret: Uint8Array,
  sender: "server" | "client",
): void {
  const got = decodeFinished(msg.body, hashLength(hash));
  const want = finishedMac(ctx.crypto, hash, peerHandshakeSecret, ctx.transcript.hash(ctx.crypto, hash));
  if (!constantTimeEqual(got, want))
    throw TLSError.local(AlertDescription.decrypt_error, `${sender} Finished does not verify`);
  ctx.received("Finished", { verify_data: "verified" });
  ctx.transcript.add(msg.raw);
}

/**
 * After a TLS 1.3 handshake, both roles: KeyUpdate (§4.6.3), and for the client NewSessionTicket
 * (§4.6.1). Anything else is unexpected_message (we offer no post-handshake authentication).
 */
export class Established13 implements HandshakeState {
  readonly name = "Established";
  /** KeyUpdates and NewSessionTickets between two application data records. */
  private readonly burst = new BurstLimit(32, "too many post-handshake messages without application data");

  constructor(
    private readonly role: "client" | "server",
    private readonly suite: CipherSuite13,
    /** Our application traffic secret (client's on a client, server's on a server). */
    private writeSecret: Uint8Array,
    /** The peer's application traffic secret. */
    private readSecret: Uint8Array,
    private readonly tickets: {
      resumption: Uint8Array;
      serverName: string | undefined;
      alpnProtocol: string | undefined;
      peerCertificates: Uint8Array[];
    } | null,
  ) {}

  handle(ctx: HandshakeContext, input: Incoming): HandshakeState {
    if (input.kind !== "handshake") throw unexpected(this.name, input);
    const msg = input.msg;
    if (msg.type === HandshakeType.key_update) {
      this.burst.spend(ctx);
      const requested = decodeKeyUpdate(msg.body);
      ctx.received("KeyUpdate", { request: requested ? "update_requested" : "update_not_requested" });
      const old = this.readSecret;
      this.readSecret = nextTrafficSecret(ctx.crypto, this.suite.hash, old);
      old.fill(0);
      const k = trafficKeys(ctx.crypto, this.suite.hash, this.readSecret, this.suite.keyLength);
      ctx.changeReadProtection(new Aead13Protection(ctx.crypto, this.suite.aead, k.key, k.iv));
      if (requested) this.requestKeyUpdate(ctx, false);
      return this;
    }
    if (msg.type === HandshakeType.new_session_ticket && this.role === "client" && this.tickets) {
      this.burst.spend(ctx);
      const nst = decodeNewSessionTicket13(msg.body);
      const ed = findExtension(nst.extensions, ExtensionType.early_data);
      const maxEarlyData =
        ed && ed.length === 4 ? ((ed[0]! << 24) >>> 0) + ((ed[1]! << 16) | (ed[2]! << 8) | ed[3]!) : 0;
      ctx.received("NewSessionTicket", {
        lifetime: `${nst.lifetime}s`,
        ticket: `${nst.ticket.length} bytes`,
      });
      ctx.session({
        version: TLS13,
        cipherSuite: this.suite.id,
        secret: ticketPsk(ctx.crypto, this.suite.hash, this.tickets.resumption, nst.nonce),
        extendedMasterSecret: true,
        serverName: this.tickets.serverName,
        alpnProtocol: this.tickets.alpnProtocol,
        peerCertificates: this.tickets.peerCertificates,
        createdAt: Date.now(),
        lifetime: nst.lifetime,
        ageAdd: nst.ageAdd,
        maxEarlyData,
        ticket: nst.ticket,
        sessionId: new Uint8Array(0),
      });
      return this;
    }
    throw unexpected(this.name, input);
  }

  requestKeyUpdate(ctx: HandshakeContext, requestPeer: boolean): void {
    ctx.sendPostHandshake(encodeKeyUpdate(requestPeer), "KeyUpdate", {
      request: requestPeer ? "update_requested" : "update_not_requested",
    });
    const old = this.writeSecret;
    this.writeSecret = nextTrafficSecret(ctx.crypto, this.suite.hash, old);
    old.fill(0);
    const k = trafficKeys(ctx.crypto, this.suite.hash, this.writeSecret, this.suite.keyLength);
    ctx.changeWriteProtection(new Aead13Protection(ctx.crypto, this.suite.aead, k.key, k.iv));
  }

  wipe(): void {
    this.writeSecret.fill(0);
    this.readSecret.fill(0);
    this.tickets?.resumption.fill(0);
  }
}
