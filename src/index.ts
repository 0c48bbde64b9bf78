export { AlertDescription, AlertLevel, alertName } from "./alert.js";
export {
  type CertKeyPair,
  ClientConfig,
  type ClientOptions,
  ConfigError,
  ServerConfig,
  type ServerOptions,
} from "./config.js";
export {
  ClientConnection,
  Connection,
  type ConnectionEvents,
  ServerConnection,
  type TraceEvent,
} from "./connection.js";
export { groupName, NamedGroup, ProtocolVersion, SignatureScheme, versionName } from "./constants.js";
export { nodeCrypto } from "./crypto/node.js";
export type { CryptoProvider } from "./crypto/provider.js";
export { isTLSError, TLSError } from "./errors.js";
export type { HandshakeInfo } from "./handshake/context.js";
export {
  type ConnectOptions,
  type CreateServerOptions,
  connect,
  createServer,
  TLSServer,
} from "./node/api.js";
export { TLSSocket } from "./node/socket.js";
export { type ClientSessionCache, MemoryClientSessionCache, TLSSession } from "./session/client-session.js";
export type { SessionState } from "./session/session.js";
export { type MaybePromise, MemorySessionStore, type SessionStore } from "./session/store.js";
export { type TicketKey, TicketKeyRing } from "./session/ticket-keys.js";
export { ALL_SUITES, type CipherSuite, DEFAULT_SUITES, suiteByName } from "./suites.js";
export * as x509 from "./x509/index.js";
