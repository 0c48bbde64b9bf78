import { EventEmitter } from "node:events";
import * as net from "node:net";
import { ClientConfig, type ClientOptions, ServerConfig, type ServerOptions } from "../config.js";
import { ClientConnection, ServerConnection } from "../connection.js";
import type { ClientSessionCache, TLSSession } from "../session/client-session.js";
import { type SocketOptions, TLSSocket } from "./socket.js";

export interface ConnectOptions extends ClientOptions, SocketOptions {
  host?: string;
  port?: number;
  /** An already connected socket to run TLS over. */
  socket?: net.Socket;
  /** A prepared ClientConfig (shared between connections); the TLS options above are then ignored. */
  config?: ClientConfig;
  /** SNI and certificate name. Defaults to host (IP literals are checked, not sent). */
  servername?: string;
  /** A session to resume (from a 'session' event, or its bytes / base64). */
  session?: TLSSession | Uint8Array | string;
  /**
   * Sessions by "servername:port": a session from here is offered (and taken out: tickets are
   * used once), and new ones are put back from 'session' events. Off unless given.
   */
  sessionCache?: ClientSessionCache;
  /**
   * TLS 1.3 0-RTT: data sent with the ClientHello when the session allows it (socket.info.earlyData
   * says whether the server took it; if not, it is sent again after the handshake). Early data can
   * be replayed by an attacker: send only what is safe to repeat.
   */
  earlyData?: Uint8Array;
}

/** Opens a TLS client connection (like node:tls connect). 'secureConnect' fires after the handshake. */
export function connect(options: ConnectOptions, onSecure?: () => void): TLSSocket {
  const config = options.config ?? new ClientConfig(options);
  const host = options.host ?? "localhost";
  const port = options.port ?? 443;
  const serverName = options.servername ?? options.serverName ?? host;
  const cacheKey = `${serverName}:${port}`;
  let session = options.session;
  if (session === undefined && options.sessionCache) {
    session = options.sessionCache.get(cacheKey);
    if (session) options.sessionCache.delete(cacheKey);
  }
  const socket = options.socket ?? net.connect({ host, port, allowHalfOpen: options.allowHalfOpen ?? false });
  const conn = new ClientConnection(config, {
    serverName,
    ...(session !== undefined ? { session } : {}),
    ...(options.earlyData !== undefined ? { earlyData: options.earlyData } : {}),
  });
  const tls = new TLSSocket(socket, conn, options);
  const cache = options.sessionCache;
  if (cache) tls.on("session", (s: TLSSession) => cache.set(cacheKey, s));
  if (onSecure) tls.once("secureConnect", onSecure);
  return tls;
}

export interface CreateServerOptions extends ServerOptions, SocketOptions {
  config?: ServerConfig;
}

/**
 * A TLS server (like node:tls Server): 'secureConnection' (TLSSocket) after each handshake;
 * 'tlsClientError' (error, socket) for a connection that failed. Errors on one connection never
 * reach the others, nor the process, unless the application asks for them.
 */
export class TLSServer extends EventEmitter {
  readonly server: net.Server;
  readonly config: ServerConfig;
  private readonly socketOptions: SocketOptions;
  private readonly sockets = new Set<TLSSocket>();

  constructor(options: CreateServerOptions, onSecure?: (s: TLSSocket) => void) {
    super();
    this.config = options.config ?? new ServerConfig(options);
    this.socketOptions = options;
    if (onSecure) this.on("secureConnection", onSecure);
    this.server = net.createServer({ allowHalfOpen: options.allowHalfOpen ?? false }, (raw) =>
      this.accept(raw),
    );
    this.server.on("error", (e) => this.emit("error", e));
    this.server.on("listening", () => this.emit("listening"));
    this.server.on("close", () => this.emit("close"));
  }

  private accept(raw: net.Socket): void {
    const conn = new ServerConnection(this.config);
    const tls = new TLSSocket(raw, conn, this.socketOptions);
    this.sockets.add(tls);
    this.emit("connection", tls);
    tls.on("close", () => this.sockets.delete(tls));
    // A failing connection is reported on the server, never thrown at the process.
    tls.on("error", (err) => {
      if (tls.listenerCount("error") === 1) this.emit("tlsClientError", err, tls);
    });
    tls.once("secure", () => this.emit("secureConnection", tls));
  }

  listen(port?: number, host?: string, cb?: () => void): this {
    this.server.listen(port, host, cb);
    return this;
  }
  address(): net.AddressInfo {
    return this.server.address() as net.AddressInfo;
  }
  close(cb?: (err?: Error) => void): this {
    this.server.close(cb);
    for (const s of this.sockets) s.destroy();
    return this;
  }
  get connections(): number {
    return this.sockets.size;
  }
}

export function createServer(options: CreateServerOptions, onSecure?: (s: TLSSocket) => void): TLSServer {
  return new TLSServer(options, onSecure);
}
