import { ClientConfig, type ClientOptions, ServerConfig, type ServerOptions } from "../../src/config.js";
import { ClientConnection, ServerConnection } from "../../src/connection.js";
import { demo } from "../unit/pair.js";
import { Client12, Server12 } from "./script12.js";
import { Client13, Server13 } from "./script13.js";
import { Victim, Wire } from "./wire.js";

/** Victims and their scripted peers, one per case. */

export const serverConfig = new ServerConfig({ cert: demo.cert, key: demo.key });
export const clientConfig = new ClientConfig({ ca: demo.ca });

export function hostileClient13(server: ServerConfig = serverConfig) {
  const wire = new Wire(true);
  const v = new Victim(new ServerConnection(server), wire);
  return { wire, v, c: new Client13(wire) };
}

export function hostileServer13(options?: ClientOptions) {
  const wire = new Wire(true);
  const cfg = options ? new ClientConfig({ ca: demo.ca, ...options }) : clientConfig;
  const v = new Victim(new ClientConnection(cfg, { serverName: "localhost" }), wire);
  v.pull();
  return { wire, v, s: new Server13(wire, serverConfig) };
}

export function hostileClient12(options?: Partial<ServerOptions>) {
  const wire = new Wire(false);
  const cfg = options ? new ServerConfig({ cert: demo.cert, key: demo.key, ...options }) : serverConfig;
  const v = new Victim(new ServerConnection(cfg), wire);
  return { wire, v, c: new Client12(wire) };
}

export function hostileServer12(options?: ClientOptions) {
  const wire = new Wire(false);
  const cfg = new ClientConfig({ ca: demo.ca, maxVersion: "TLSv1.2", ...options });
  const v = new Victim(new ClientConnection(cfg, { serverName: "localhost" }), wire);
  v.pull();
  return { wire, v, s: new Server12(wire, serverConfig) };
}
