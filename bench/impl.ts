/**
 * The two implementations under test behind one small interface: a server that hands each
 * established connection to a callback, and a client factory whose configuration (trust store,
 * suite, group) is prepared once and shared by every connection, as a real client would.
 *
 * Both sides are configured alike: TLS 1.2 only, exactly one cipher suite, X25519, the client
 * verifies the chain and the name "localhost", the server asks for no client certificate, and
 * node's server sends no session tickets (TypeTLS has none yet, so a full handshake is the same
 * work on both). Every TCP socket has TCP_NODELAY set.
 */
import { constants as cryptoConstants } from "node:crypto";
import * as net from "node:net";
import type { Duplex } from "node:stream";
import * as tls from "node:tls";
import {
  ClientConfig,
  createServer as createTypeTLSServer,
  groupName,
  connect as typeTLSConnect,
} from "../src/index.js";

export type Impl = "typetls" | "node";
export const IMPLS: readonly Impl[] = ["typetls", "node"];

export interface SuiteInfo {
  /** IANA name (what both implementations report as the standard name). */
  iana: string;
  /** OpenSSL name, for node:tls `ciphers`. */
  openssl: string;
  /** Short label for tables. */
  label: string;
}

export const SUITES = {
  ecdsaAes128: {
    iana: "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
    openssl: "ECDHE-ECDSA-AES128-GCM-SHA256",
    label: "ECDHE-ECDSA AES-128-GCM",
  },
  rsaAes128: {
    iana: "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
    openssl: "ECDHE-RSA-AES128-GCM-SHA256",
    label: "ECDHE-RSA AES-128-GCM",
  },
  ecdsaChacha: {
    iana: "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
    openssl: "ECDHE-ECDSA-CHACHA20-POLY1305",
    label: "ECDHE-ECDSA ChaCha20-Poly1305",
  },
} as const satisfies Record<string, SuiteInfo>;
export type SuiteKey = keyof typeof SUITES;

/** A server certificate chain (leaf first), its key, and the root the client trusts. */
export interface CertMaterial {
  chain: string;
  key: string;
  ca: string;
}

export const HOST = "127.0.0.1";

/**
 * Key exchange is X25519 on every case (first choice of client and server). P-256 is listed second
 * only because in TLS 1.2 the supported_groups list also says which curves the client accepts for
 * ECDSA certificates (RFC 8422 §5.1): OpenSSL refuses a P-256 certificate unless P-256 is listed.
 */
export const GROUPS = ["X25519", "P-256"];
export const SERVER_NAME = "localhost";

export interface BenchServer {
  readonly port: number;
  close(): Promise<void>;
}

export interface ServerHooks {
  /** An established connection (after the handshake). */
  onSecure(socket: Duplex): void;
  /** A connection that failed before or during the handshake. */
  onClientError(err: Error): void;
}

export function startServer(
  impl: Impl,
  cert: CertMaterial,
  suite: SuiteInfo,
  hooks: ServerHooks,
): Promise<BenchServer> {
  if (impl === "typetls") {
    const server = createTypeTLSServer({
      cert: cert.chain,
      key: cert.key,
      cipherSuites: [suite.iana],
      groups: GROUPS,
      minVersion: "TLSv1.2",
      maxVersion: "TLSv1.2",
    });
    server.server.on("connection", (raw: net.Socket) => raw.setNoDelay(true));
    server.on("secureConnection", (s: Duplex) => hooks.onSecure(s));
    server.on("tlsClientError", (err: Error) => hooks.onClientError(err));
    return listen(server.server, () => new Promise<void>((resolve) => server.close(() => resolve())));
  }
  const server = tls.createServer({
    cert: cert.chain,
    key: cert.key,
    ciphers: suite.openssl,
    ecdhCurve: GROUPS.join(":"),
    minVersion: "TLSv1.2",
    maxVersion: "TLSv1.2",
    // TypeTLS does not issue tickets yet; without this node would do extra work per handshake.
    secureOptions: cryptoConstants.SSL_OP_NO_TICKET,
  });
  server.on("connection", (raw: net.Socket) => raw.setNoDelay(true));
  server.on("secureConnection", (s: tls.TLSSocket) => hooks.onSecure(s));
  server.on("tlsClientError", (err: Error) => hooks.onClientError(err));
  return listen(server, () => new Promise<void>((resolve) => server.close(() => resolve())));
}

function listen(server: net.Server, close: () => Promise<void>): Promise<BenchServer> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, HOST, () => {
      server.off("error", reject);
      const addr = server.address();
      if (addr === null || typeof addr === "string") {
        reject(new Error("server has no TCP address"));
        return;
      }
      resolve({ port: addr.port, close });
    });
  });
}

/** One client connection: the plaintext stream and the negotiated suite (IANA name) once known. */
export interface ClientConn {
  readonly socket: Duplex;
  cipher(): string | undefined;
  /** The key-exchange group ("X25519"), once known. */
  group(): string | undefined;
}

export type ClientFactory = (port: number) => ClientConn;

/** Prepares the client configuration once; each call of the result opens one connection. */
export function clientFactory(impl: Impl, ca: string, suite: SuiteInfo): ClientFactory {
  if (impl === "typetls") {
    const config = new ClientConfig({
      ca,
      cipherSuites: [suite.iana],
      groups: GROUPS,
      minVersion: "TLSv1.2",
      maxVersion: "TLSv1.2",
    });
    return (port) => {
      const raw = net.connect({ host: HOST, port, noDelay: true });
      const s = typeTLSConnect({ socket: raw, config, servername: SERVER_NAME });
      return {
        socket: s,
        cipher: () => s.getCipher()?.standardName,
        group: () => {
          const g = s.info?.group;
          return g === undefined ? undefined : groupName(g);
        },
      };
    };
  }
  const secureContext = tls.createSecureContext({
    ca,
    ciphers: suite.openssl,
    ecdhCurve: GROUPS.join(":"),
    minVersion: "TLSv1.2",
    maxVersion: "TLSv1.2",
  });
  return (port) => {
    const raw = net.connect({ host: HOST, port, noDelay: true });
    const s = tls.connect({ socket: raw, secureContext, servername: SERVER_NAME });
    return {
      socket: s,
      cipher: () => s.getCipher()?.standardName,
      group: () => {
        const k = s.getEphemeralKeyInfo();
        return k !== null && "name" in k ? (k as tls.EphemeralKeyInfo).name : undefined;
      },
    };
  };
}
