/**
 * A session store named by a URL (`typetls server --session-store URL`):
 * - "memory:" — this process only (MemorySessionStore); the server keeps its own ticket keys.
 * - "redis://[user:password@]host:port[/db]" (or rediss://) — shared by every server using the same
 *   Redis: sessions (RedisSessionStore) and the ticket key ring (RedisTicketKeys, rotated every
 *   `rotateEverySeconds`, default 3600, keeping the 2 previous keys).
 * A Redis that is down does not stop the server: this waits a moment for it, reports the problem
 * through onError and returns; handshakes are full ones until Redis is back.
 */
import { ConfigError } from "../config.js";
import { RedisConnection, RedisSessionStore, RedisTicketKeys } from "./redis.js";
import { MemorySessionStore, type SessionStore } from "./store.js";
import type { TicketKeyRing } from "./ticket-keys.js";

export interface SessionStoreUrlOptions {
  /** Store and connection problems (the server prints them). */
  onError: (e: unknown) => void;
  /** Redis: make a new fleet-wide ticket key this often (default 3600 s). */
  rotateEverySeconds?: number;
  /** Redis: reload the shared ticket keys this often (default 5 s). */
  refreshEverySeconds?: number;
  /** Redis: a command without an answer by then fails (default 200 ms). */
  commandTimeoutMs?: number;
  /** Redis: how long to wait for the first connection before serving anyway (default 1500 ms). */
  connectWaitMs?: number;
}

export interface OpenedSessionStore {
  store: SessionStore;
  /** Set when the store shares ticket keys: pass it as ServerOptions.ticketKeys. */
  ticketKeys?: TicketKeyRing;
  close(): Promise<void>;
}

export async function createSessionStoreFromUrl(
  url: string,
  opts: SessionStoreUrlOptions,
): Promise<OpenedSessionStore> {
  if (url === "memory:" || url === "memory://") {
    return { store: new MemorySessionStore(), close: async () => {} };
  }
  if (!/^rediss?:\/\//i.test(url))
    throw new ConfigError(
      `unsupported session store URL "${url}" (expected memory: or redis://HOST:PORT[/DB])`,
    );
  const redis = new RedisConnection({
    url,
    onError: opts.onError,
    ...(opts.commandTimeoutMs !== undefined ? { commandTimeoutMs: opts.commandTimeoutMs } : {}),
  });
  const keys = new RedisTicketKeys(redis, {
    onError: opts.onError,
    startWaitMs: 0, // waited for below
    ...(opts.rotateEverySeconds !== undefined ? { rotateEverySeconds: opts.rotateEverySeconds } : {}),
    ...(opts.refreshEverySeconds !== undefined ? { refreshEverySeconds: opts.refreshEverySeconds } : {}),
  });
  if (!(await redis.ready(opts.connectWaitMs ?? 1500)))
    opts.onError(
      new Error(
        `redis ${redis.label}: not reachable yet; serving without shared sessions and with local ticket keys until it is`,
      ),
    );
  await keys.start();
  return {
    store: new RedisSessionStore(redis),
    ticketKeys: keys.ring,
    close: async () => {
      keys.stop();
      await redis.close();
    },
  };
}
