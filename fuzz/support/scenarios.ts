import {
  DEMO_CLIENT_CERT,
  DEMO_CLIENT_KEY,
  DEMO_ROOT_CA,
  DEMO_SERVER_CERT,
  DEMO_SERVER_KEY,
} from "../../src/cli/demo-certs.js";
import { ClientConfig, type ClientOptions, ServerConfig, type ServerOptions } from "../../src/config.js";
import { ClientConnection, type Connection, ServerConnection } from "../../src/connection.js";
import type { TLSSession } from "../../src/session/client-session.js";
import { concat } from "../../src/wire/bytes.js";
import { feed } from "../../test/unit/pair.js";
import "./clock.js";
import { RSA_ROOT_CA, RSA_SERVER_CERT, RSA_SERVER_KEY } from "./rsa-pki.js";
import { ResettableStore } from "./store.js";
import { TransparentCrypto } from "./transparent-crypto.js";

/**
 * The handshakes the state-machine targets start from. The first byte of a flight target's input
 * picks one (modulo the count), so the corpus holds real recorded flights of each; keep the order
 * stable (appending is fine), since recorded seeds name scenarios by index.
 */
export interface Scenario {
  name: string;
  client: ClientOptions;
  server: Partial<ServerOptions>;
  /** The client offers the session of a first, full connection (made once per process). */
  resume?: boolean;
  /** 0-RTT data the client sends with its resuming ClientHello. */
  earlyData?: string;
}

export const SERVER_NAME = "localhost";

const clientAuth = { clientAuth: "require", ca: DEMO_ROOT_CA } as const;
const clientCert = { cert: DEMO_CLIENT_CERT, key: DEMO_CLIENT_KEY };

export const SCENARIOS: readonly Scenario[] = [
  { name: "tls13", client: { alpnProtocols: ["h2", "http/1.1"] }, server: { alpnProtocols: ["http/1.1"] } },
  { name: "tls13-hrr", client: { keyShareGroups: ["P-256"] }, server: { groups: ["X25519"] } },
  { name: "tls13-client-auth", client: clientCert, server: clientAuth },
  { name: "tls12", client: { maxVersion: "TLSv1.2" }, server: {} },
  { name: "tls12-client-auth", client: { maxVersion: "TLSv1.2", ...clientCert }, server: clientAuth },
  {
    name: "tls13-p384-chacha",
    client: { groups: ["P-384"], cipherSuites: ["TLS_CHACHA20_POLY1305_SHA256"] },
    server: {},
  },
  { name: "tls13-resume", client: {}, server: {}, resume: true },
  { name: "tls12-resume", client: { maxVersion: "TLSv1.2" }, server: {}, resume: true },
  {
    name: "tls13-0rtt",
    client: {},
    server: { maxEarlyData: 1024 },
    resume: true,
    earlyData: "GET /early\r\n",
  },
  {
    name: "tls12-rsa-kx",
    client: {
      maxVersion: "TLSv1.2",
      ca: RSA_ROOT_CA,
      enableLegacyRsaKeyExchange: true,
      cipherSuites: ["TLS_RSA_WITH_AES_128_GCM_SHA256"],
    },
    server: { cert: RSA_SERVER_CERT, key: RSA_SERVER_KEY, enableLegacyRsaKeyExchange: true },
  },
];

/** A scenario's configs, each with its own deterministic crypto; build once and reuse. */
export class Setup {
  readonly clientCrypto = new TransparentCrypto("client");
  readonly serverCrypto = new TransparentCrypto("server");
  readonly clientConfig: ClientConfig;
  readonly serverConfig: ServerConfig;
  private readonly store = new ResettableStore();
  private session: TLSSession | undefined;

  constructor(readonly scenario: Scenario) {
    this.clientConfig = new ClientConfig({ ca: DEMO_ROOT_CA, ...scenario.client, crypto: this.clientCrypto });
    this.serverConfig = new ServerConfig({
      cert: DEMO_SERVER_CERT,
      key: DEMO_SERVER_KEY,
      ...scenario.server,
      sessionStore: this.store,
      crypto: this.serverCrypto,
    });
  }

  /** A fresh client whose bytes are the same on every call. */
  client(): ClientConnection {
    if (this.scenario.resume && this.session === undefined) this.session = this.firstSession();
    const session = this.session;
    this.clientCrypto.reset();
    const early = this.scenario.earlyData;
    return new ClientConnection(this.clientConfig, {
      serverName: SERVER_NAME,
      ...(session ? { session } : {}),
      ...(early ? { earlyData: new TextEncoder().encode(early) } : {}),
    });
  }

  /** A fresh server (with an empty session store) whose bytes are the same on every call. */
  server(): ServerConnection {
    this.serverCrypto.reset();
    this.store.reset();
    return new ServerConnection(this.serverConfig);
  }

  /** The session a full connection leaves the client with (the last ticket). */
  private firstSession(): TLSSession {
    this.clientCrypto.reset();
    const c = new ClientConnection(this.clientConfig, { serverName: SERVER_NAME });
    const s = this.server();
    let session: TLSSession | undefined;
    c.on("session", (x) => {
      session = x;
    });
    pumpAll(c, s, () => {});
    if (!session) throw new Error(`${this.scenario.name}: the first connection left no session`);
    return session;
  }
}

let setups: Setup[] | undefined;
export function setupFor(index: number): Setup {
  setups ??= SCENARIOS.map((s) => new Setup(s));
  return setups[index % setups.length]!;
}

export interface Recording {
  /** Everything the client sent, in order. */
  fromClient: Uint8Array;
  /** Everything the server sent, in order. */
  fromServer: Uint8Array;
  /** Each chunk as it was sent, for tests that want record boundaries. */
  clientChunks: Uint8Array[];
  serverChunks: Uint8Array[];
}

/** Runs a whole connection (handshake, data both ways, TLS 1.3 KeyUpdates, close_notify both ways) and records it. */
export function record(setup: Setup): Recording {
  const c = setup.client();
  const s = setup.server();
  const clientChunks: Uint8Array[] = [];
  const serverChunks: Uint8Array[] = [];
  const pump = () =>
    pumpAll(c, s, (from, bytes) => (from === "client" ? clientChunks : serverChunks).push(bytes));
  pump();
  failed(c, setup.scenario.name);
  failed(s, setup.scenario.name);
  if (!c.handshakeComplete || !s.handshakeComplete) throw new Error(`${setup.scenario.name}: no handshake`);
  c.write(new TextEncoder().encode("GET / HTTP/1.1\r\n\r\n"));
  s.write(new TextEncoder().encode("HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok"));
  pump();
  if (c.protocol === "TLSv1.3") {
    // Post-handshake messages in both directions: KeyUpdate (one asking for an answer), more data.
    c.updateKeys(true);
    pump();
    s.updateKeys(false);
    s.write(new TextEncoder().encode("after key update"));
    pump();
  }
  c.close();
  pump();
  s.close();
  pump();
  failed(c, setup.scenario.name);
  failed(s, setup.scenario.name);
  return {
    fromClient: concat(...clientChunks),
    fromServer: concat(...serverChunks),
    clientChunks,
    serverChunks,
  };
}

/** Moves bytes both ways until neither side has any; `seen` sees each chunk first. */
function pumpAll(
  c: Connection,
  s: Connection,
  seen: (from: "client" | "server", b: Uint8Array) => void,
): void {
  for (let i = 0; i < 50; i++) {
    const x = c.takeOutgoing();
    const y = s.takeOutgoing();
    if (x.length === 0 && y.length === 0) return;
    if (x.length > 0) {
      seen("client", x);
      feed(s, x);
    }
    if (y.length > 0) {
      seen("server", y);
      feed(c, y);
    }
  }
  throw new Error("pump did not settle");
}

function failed(conn: Connection, name: string): void {
  if (conn.error) throw new Error(`${name}: ${conn.role} failed: ${conn.error.message}`);
}
