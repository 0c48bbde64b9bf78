import {
  DEMO_CLIENT_CERT,
  DEMO_CLIENT_KEY,
  DEMO_ROOT_CA,
  DEMO_SERVER_CERT,
  DEMO_SERVER_KEY,
} from "../../src/cli/demo-certs.js";
import { ClientConfig, type ClientOptions, ServerConfig, type ServerOptions } from "../../src/config.js";
import { ClientConnection, type Connection, ServerConnection } from "../../src/connection.js";

export const demo = {
  ca: DEMO_ROOT_CA,
  cert: DEMO_SERVER_CERT,
  key: DEMO_SERVER_KEY,
  clientCert: DEMO_CLIENT_CERT,
  clientKey: DEMO_CLIENT_KEY,
};

/** Moves bytes between two sans-IO connections until neither has anything to send. */
export function pump(a: Connection, b: Connection, limit = 100): void {
  for (let i = 0; i < limit; i++) {
    const x = a.takeOutgoing();
    const y = b.takeOutgoing();
    if (x.length === 0 && y.length === 0) return;
    if (x.length) feed(b, x);
    if (y.length) feed(a, y);
  }
  throw new Error("pump did not settle");
}

/** Gives `bytes` to `conn` and lets it process them all (receive() does maxRecordsPerRead at a time). */
export function feed(conn: Connection, bytes: Uint8Array): void {
  let done = conn.receive(bytes);
  for (let i = 0; !done && !conn.isPaused && !conn.isWaiting && i < 1e6; i++) done = conn.receive();
}

export function pair(
  client: ClientOptions = {},
  server: Partial<ServerOptions> = {},
  serverName = "localhost",
) {
  const c = new ClientConnection(new ClientConfig({ ca: demo.ca, ...client }), { serverName });
  const s = new ServerConnection(new ServerConfig({ cert: demo.cert, key: demo.key, ...server }));
  return { c, s };
}
