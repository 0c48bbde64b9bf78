/**
 * The two implementations under test behind one small interface: a server that hands each
 * established connection to a callback, and a client factory whose configuration (trust store,
 * suite, group) is prepared once and shared by every connection, as a real client would.
 *
 * Both sides are configured alike: one protocol version, exactly one cipher suite, X25519, the
 * client verifies the chain and the name "localhost", the server asks for no client certificate.
 * What the server keeps for resumption depends on the case (see `ResumeKind` and bench/README.md):
 * for full TLS 1.2 handshakes neither side issues tickets or stores sessions. Every TCP socket has
 * TCP_NODELAY set.
 */
import { constants as cryptoConstants } from "node:crypto";
import * as net from "node:net";
import type { Duplex } from "node:stream";
import * as tls from "node:tls";
import {
  ClientConfig,
  type CreateServerOptions,
  createServer as createTypeTLSServer,
  groupName,
  type TLSSession,
  connect as typeTLSConnect,
} from "../src/index.js";

export type Impl = "typetls" | "node";
export const IMPLS: readonly Impl[] = ["typetls", "node"];

export interface SuiteInfo {
  /** IANA name (what both implementations report as the standard name). */
  iana: string;
  /** OpenSSL name, for node:tls `ciphers` (TLS 1.3 names go there too: node sorts them out). */
  openssl: string;
  /** Short label for tables. */
  label: string;
  /** The only protocol version both sides enable. */
  version: "TLSv1.2" | "TLSv1.3";
}

export const SUITES = {
  ecdsaAes128: {
    iana: "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
    openssl: "ECDHE-ECDSA-AES128-GCM-SHA256",
    label: "ECDHE-ECDSA AES-128-GCM",
    version: "TLSv1.2",
  },
  rsaAes128: {
    iana: "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
    openssl: "ECDHE-RSA-AES128-GCM-SHA256",
    label: "ECDHE-RSA AES-128-GCM",
    version: "TLSv1.2",
  },
  ecdsaChacha: {
    iana: "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
    openssl: "ECDHE-ECDSA-CHACHA20-POLY1305",
    label: "ECDHE-ECDSA ChaCha20-Poly1305",
    version: "TLSv1.2",
  },
  tls13Aes128: {
    iana: "TLS_AES_128_GCM_SHA256",
    openssl: "TLS_AES_128_GCM_SHA256",
    label: "TLS 1.3 AES-128-GCM",
    version: "TLSv1.3",
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

/**
 * What the client offers from its previous connection, and what the server keeps for it:
 * - "none": full handshakes. TLS 1.2: no tickets, no session cache on either side. TLS 1.3: each
 *   stack's default tickets (TypeTLS sends 1 after each handshake, OpenSSL 2; node cannot turn
 *   TLS 1.3 tickets off), never offered back.
 * - "session_id": TLS 1.2 session ids. TypeTLS: sessionTickets off, its MemorySessionStore. node:
 *   SSL_OP_NO_TICKET, a sessionIdContext, and a Map behind 'newSession'/'resumeSession' (node's
 *   server has no session cache of its own). The client sends no ticket extension.
 * - "ticket": TLS 1.2 RFC 5077 tickets, no server-side store (TypeTLS sessionIds off).
 * - "psk_dhe_ke": TLS 1.3 tickets, resumed with a fresh X25519 exchange. Both servers' defaults.
 */
export type ResumeKind = "none" | "session_id" | "ticket" | "psk_dhe_ke";

/** A session from a previous connection: TypeTLS's TLSSession, or node's session Buffer. */
export type ClientSession = TLSSession | Buffer;

export interface BenchServer {
  readonly port: number;
  close(): Promise<void>;
}

export interface ServerHooks {
  /** An established connection (after the handshake); `resumed`: an abbreviated/PSK handshake. */
  onSecure(socket: Duplex, resumed: boolean): void;
  /** A connection that failed before or during the handshake. */
  onClientError(err: Error): void;
}

/** How many sessions node's server keeps for session-id resumption (oldest dropped first). */
const NODE_ID_CACHE = 10_000;

function typeTLSServerResumption(resume: ResumeKind, version: SuiteInfo["version"]): CreateServerOptions {
  switch (resume) {
    case "none":
      return version === "TLSv1.2" ? { sessionTickets: false, sessionIds: false } : {};
    case "session_id":
      return { sessionTickets: false, sessionIds: true };
    case "ticket":
      return { sessionTickets: true, sessionIds: false };
    case "psk_dhe_ke":
      return {};
  }
}

export function startServer(
  impl: Impl,
  cert: CertMaterial,
  suite: SuiteInfo,
  resume: ResumeKind,
  hooks: ServerHooks,
): Promise<BenchServer> {
  if (impl === "typetls") {
    const server = createTypeTLSServer({
      cert: cert.chain,
      key: cert.key,
      cipherSuites: [suite.iana],
      groups: GROUPS,
      minVersion: suite.version,
      maxVersion: suite.version,
      ...typeTLSServerResumption(resume, suite.version),
    });
    server.server.on("connection", (raw: net.Socket) => raw.setNoDelay(true));
    server.on("secureConnection", (s) => hooks.onSecure(s, s.info?.resumed === true));
    server.on("tlsClientError", (err: Error) => hooks.onClientError(err));
    return listen(server.server, () => new Promise<void>((resolve) => server.close(() => resolve())));
  }
  const noTicket = (resume === "none" && suite.version === "TLSv1.2") || resume === "session_id";
  const server = tls.createServer({
    cert: cert.chain,
    key: cert.key,
    ciphers: suite.openssl,
    ecdhCurve: GROUPS.join(":"),
    minVersion: suite.version,
    maxVersion: suite.version,
    ...(noTicket ? { secureOptions: cryptoConstants.SSL_OP_NO_TICKET } : {}),
    ...(resume === "session_id" ? { sessionIdContext: "typetls-bench" } : {}),
  });
  if (resume === "session_id") {
    const cache = new Map<string, Buffer>();
    server.on("newSession", (id: Buffer, data: Buffer, done: () => void) => {
      cache.set(id.toString("hex"), data);
      if (cache.size > NODE_ID_CACHE) cache.delete(cache.keys().next().value!);
      done();
    });
    server.on("resumeSession", (id: Buffer, done: (err: Error | null, data: Buffer | null) => void) => {
      done(null, cache.get(id.toString("hex")) ?? null);
    });
  }
  server.on("connection", (raw: net.Socket) => raw.setNoDelay(true));
  server.on("secureConnection", (s: tls.TLSSocket) => hooks.onSecure(s, s.isSessionReused()));
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
  /** The key-exchange group ("X25519"), once known (none in a resumed TLS 1.2 handshake). */
  group(): string | undefined;
  /**
   * Once the handshake is done: undefined for a full handshake; for a resumed one, TypeTLS's
   * info.resumedWith, or "reused" from node's isSessionReused() (node does not say how).
   */
  resumedWith(): string | undefined;
  /** The latest session this connection received (a 'session' event), if any. */
  session(): ClientSession | undefined;
}

/** Opens one connection; `session`, when given, is offered for resumption. */
export type ClientFactory = (port: number, session?: ClientSession) => ClientConn;

/** Prepares the client configuration once; each call of the result opens one connection. */
export function clientFactory(impl: Impl, ca: string, suite: SuiteInfo, resume: ResumeKind): ClientFactory {
  if (impl === "typetls") {
    const config = new ClientConfig({
      ca,
      cipherSuites: [suite.iana],
      groups: GROUPS,
      minVersion: suite.version,
      maxVersion: suite.version,
      ...(resume === "session_id" ? { sessionTickets: false } : {}),
    });
    return (port, session) => {
      const raw = net.connect({ host: HOST, port, noDelay: true });
      const s = typeTLSConnect({
        socket: raw,
        config,
        servername: SERVER_NAME,
        ...(session !== undefined ? { session } : {}),
      });
      let latest: TLSSession | undefined;
      s.on("session", (x: TLSSession) => {
        latest = x;
      });
      return {
        socket: s,
        cipher: () => s.getCipher()?.standardName,
        group: () => {
          const g = s.info?.group;
          return g === undefined ? undefined : groupName(g);
        },
        resumedWith: () => s.info?.resumedWith,
        session: () => latest,
      };
    };
  }
  const secureContext = tls.createSecureContext({
    ca,
    ciphers: suite.openssl,
    ecdhCurve: GROUPS.join(":"),
    minVersion: suite.version,
    maxVersion: suite.version,
    ...(resume === "session_id" ? { secureOptions: cryptoConstants.SSL_OP_NO_TICKET } : {}),
  });
  return (port, session) => {
    const raw = net.connect({ host: HOST, port, noDelay: true });
    const s = tls.connect({
      socket: raw,
      secureContext,
      servername: SERVER_NAME,
      ...(Buffer.isBuffer(session) ? { session } : {}),
    });
    let latest: Buffer | undefined;
    s.on("session", (b: Buffer) => {
      latest = b;
    });
    return {
      socket: s,
      cipher: () => s.getCipher()?.standardName,
      group: () => {
        const k = s.getEphemeralKeyInfo();
        return k !== null && "name" in k ? (k as tls.EphemeralKeyInfo).name : undefined;
      },
      resumedWith: () => (s.isSessionReused() ? "reused" : undefined),
      session: () => latest,
    };
  };
}
