import { AlertDescription } from "../alert.js";
import type { ServerConfig } from "../config.js";
import { ExtensionType, HandshakeType, ProtocolVersion, versionName } from "../constants.js";
import { TLSError } from "../errors.js";
import { TLS_FALLBACK_SCSV } from "../suites.js";
import { expect } from "./common.js";
import type { HandshakeContext, HandshakeState, Incoming } from "./context.js";
import { type ClientHello, decodeClientHello, describeClientHello } from "./messages/client-hello.js";
import { findExtension, supportedVersions } from "./messages/extensions.js";
import { clientHello12 } from "./server12.js";
import { clientHello13 } from "./server13.js";

/**
 * The server's first state, common to both versions: read the ClientHello (seed step 1), pick the
 * highest version both sides support, and hand over to server12.ts or server13.ts.
 */
export class ExpectClientHello implements HandshakeState {
  readonly name = "ExpectClientHello";
  constructor(private readonly config: ServerConfig) {}

  handle(ctx: HandshakeContext, input: Incoming): HandshakeState {
    const msg = expect(this.name, input, HandshakeType.client_hello);
    const hello = decodeClientHello(msg.body);
    ctx.received("ClientHello", describeClientHello(hello));
    const version = negotiateVersion(hello, this.config);
    return version === ProtocolVersion.TLS1_3
      ? clientHello13(ctx, this.config, msg, hello)
      : clientHello12(ctx, this.config, msg, hello);
  }
}

/** The version both support (RFC 8446 §4.2.1, RFC 5246 §E.1), with the RFC 7507 fallback check. */
export function negotiateVersion(hello: ClientHello, config: ServerConfig): number {
  const sv = findExtension(hello.extensions, ExtensionType.supported_versions);
  let offered: number[];
  if (sv) {
    // With supported_versions, legacy_version is ignored; unknown (GREASE) values are skipped.
    offered = supportedVersions.decodeClient(sv);
  } else {
    // Without it, the client offers legacy_version and everything below; never TLS 1.3.
    const v = Math.min(hello.legacyVersion, ProtocolVersion.TLS1_2);
    offered = [v, ProtocolVersion.TLS1_1, ProtocolVersion.TLS1_0].filter((x) => x <= v);
  }
  const ours = [ProtocolVersion.TLS1_3, ProtocolVersion.TLS1_2].filter(
    (v) => v >= config.minVersion && v <= config.maxVersion,
  );
  const chosen = ours.find((v) => offered.includes(v));
  if (chosen === undefined) {
    const what = sv ? offered.map(versionName).join(", ") : versionName(hello.legacyVersion);
    throw TLSError.local(
      AlertDescription.protocol_version,
      `no protocol version in common (client offers ${what})`,
    );
  }
  // RFC 7507 §3: a fallback retry below our highest version means something interfered.
  const clientMax = Math.max(...offered.filter((v) => v >> 8 === 3));
  if (hello.cipherSuites.includes(TLS_FALLBACK_SCSV) && clientMax < config.maxVersion) {
    throw TLSError.local(
      AlertDescription.inappropriate_fallback,
      "TLS_FALLBACK_SCSV with a version below our highest",
    );
  }
  return chosen;
}
