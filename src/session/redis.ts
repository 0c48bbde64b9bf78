/**
 * Sessions and ticket keys shared by a fleet of servers through Redis.
 *
 * - `RedisConnection`: one client (node-redis, `@redis/client`) that never takes the process down:
 *   its 'error' events are reported (deduplicated) instead of thrown, it reconnects forever with a
 *   backoff capped at 1 s, and every command fails fast: at once while disconnected (no offline queue),
 *   and after `commandTimeoutMs` (default 200 ms) when Redis does not answer, so a handshake waiting
 *   on the store is held up for that long at most and then goes on as a full handshake.
 * - `RedisSessionStore`: the `SessionStore` (TLS 1.2 session ids, single-use ticket records).
 * - `RedisTicketKeys`: keeps a local `TicketKeyRing` equal to the fleet's ring stored in Redis,
 *   creates that ring if it is missing (atomically: the first server wins), and rotates it on a
 *   schedule, one server per period (an atomic compare-and-set). The TLS core seals and opens with
 *   the local ring synchronously; Redis being away only means the ring stops changing.
 */
import { createClient, RESP_TYPES } from "@redis/client";
import { ConfigError } from "../config.js";
import { nodeCrypto } from "../crypto/node.js";
import type { CryptoProvider } from "../crypto/provider.js";
import type { SessionStore } from "./store.js";
import { TicketKeyRing } from "./ticket-keys.js";

/** An error of the Redis store, naming the server (never its password) and the operation. */
export class RedisStoreError extends Error {
  override readonly name = "RedisStoreError";
}

export interface RedisConnectionOptions {
  /** redis://[user:password@]host:port[/db] or rediss://... */
  url: string;
  /** Connection problems (each distinct one once until the connection is back). */
  onError?: (error: unknown) => void;
  /** A command without an answer by then fails (default 200 ms). */
  commandTimeoutMs?: number;
  /** A connection attempt gives up after this (default 1000 ms); the next one follows the backoff. */
  connectTimeoutMs?: number;
  /**
   * The longest wait between two reconnection attempts (default 1000 ms). node-redis's backoff
   * timer cannot be cancelled: after close(), a process may live on for up to this long.
   */
  maxReconnectDelayMs?: number;
}

/** Checks a redis:// URL; returns it without credentials, for messages. */
export function redisUrlLabel(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new ConfigError(`session store: "${url}" is not a URL (expected redis://HOST:PORT[/DB])`);
  }
  if (u.protocol !== "redis:" && u.protocol !== "rediss:")
    throw new ConfigError(`session store: expected a redis:// or rediss:// URL, not "${u.protocol}"`);
  if (u.hostname === "") throw new ConfigError(`session store: no host in the Redis URL`);
  if (!/^(\/\d{0,5})?$/.test(u.pathname))
    throw new ConfigError(
      `session store: the Redis URL's path must be a database number (/0), not "${u.pathname}"`,
    );
  if (u.search !== "" || u.hash !== "")
    throw new ConfigError(`session store: the Redis URL takes no query or fragment`);
  return `${u.protocol}//${u.host}${u.pathname === "/" ? "" : u.pathname}`;
}

function makeClient(url: string, commandTimeoutMs: number, connectTimeoutMs: number, maxDelay: number) {
  return createClient({
    url,
    // Commands while disconnected fail at once instead of waiting for the connection.
    disableOfflineQueue: true,
    // Bounds a command until it is written; `RedisConnection.run` bounds the wait for the answer.
    commandOptions: { timeout: commandTimeoutMs },
    // A stalled Redis cannot pile up commands without bound: beyond this they fail at once.
    commandsQueueMaxLength: 10_000,
    socket: {
      connectTimeout: connectTimeoutMs,
      // Never give up; wait 100, 200, 400 ... ms, at most maxDelay, with jitter so a fleet does not
      // reconnect in lockstep.
      reconnectStrategy: (retries: number) =>
        Math.min(100 * 2 ** Math.min(retries, 10), maxDelay) + Math.floor(Math.random() * 100),
    },
  });
}

type BaseClient = ReturnType<typeof makeClient>;

function bufferClient(c: BaseClient) {
  // Binary values come back as Buffers (a session is bytes, not text).
  return c.withTypeMapping({ [RESP_TYPES.BLOB_STRING]: Buffer });
}

type Client = ReturnType<typeof bufferClient>;

function message(e: unknown): string {
  if (!(e instanceof Error)) return String(e);
  // node-redis words these from the client's point of view; say what they mean here.
  if (e.message === "The client is offline") return "not connected (reconnecting)";
  if (e.message === "The client is closed") return "connection closed";
  const code = (e as NodeJS.ErrnoException).code;
  return code && !e.message.includes(code) ? `${e.message} [${code}]` : e.message;
}

/** A Redis connection shared by a session store and a ticket key ring. */
export class RedisConnection {
  /** The server, without credentials (for messages). */
  readonly label: string;
  readonly commandTimeoutMs: number;
  private readonly base: BaseClient;
  private readonly client: Client;
  private readonly reported = new Set<string>();
  private readonly onError: (error: unknown) => void;
  private readonly connecting: Promise<void>;
  private closed = false;

  constructor(opts: RedisConnectionOptions) {
    this.label = redisUrlLabel(opts.url);
    this.commandTimeoutMs = opts.commandTimeoutMs ?? 200;
    this.onError = opts.onError ?? (() => {});
    this.base = makeClient(
      opts.url,
      this.commandTimeoutMs,
      opts.connectTimeoutMs ?? 1000,
      opts.maxReconnectDelayMs ?? 1000,
    );
    // Without an 'error' listener an EventEmitter throws: a Redis outage would kill the process.
    this.base.on("error", (e: unknown) => this.report(e));
    this.base.on("ready", () => this.reported.clear());
    this.client = bufferClient(this.base);
    // connect() settles on the first successful connection (retrying meanwhile) or on close.
    this.connecting = this.base.connect().then(
      () => {},
      (e: unknown) => {
        if (!this.closed) this.report(e);
      },
    );
  }

  /** Reports `e` unless the same message was reported since the connection was last ready. */
  report(e: unknown): void {
    const text = message(e);
    if (this.reported.has(text)) return;
    if (this.reported.size > 100) this.reported.clear();
    this.reported.add(text);
    this.onError(
      e instanceof RedisStoreError ? e : new RedisStoreError(`redis ${this.label}: ${text}`, { cause: e }),
    );
  }

  /** Whether commands can be sent now. */
  get isReady(): boolean {
    return this.base.isReady;
  }

  /** Waits for the connection up to `ms`; true when it is ready. */
  async ready(ms: number): Promise<boolean> {
    if (this.base.isReady) return true;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, ms);
    });
    await Promise.race([this.connecting, timeout]);
    clearTimeout(timer);
    return this.base.isReady;
  }

  /**
   * Runs one command, failing with a RedisStoreError when Redis is not connected, answers with an
   * error, or does not answer within commandTimeoutMs. A late answer is dropped.
   */
  run<T>(op: string, command: (c: Client) => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new RedisStoreError(`redis ${this.label}: ${op}: closed`));
    let p: Promise<T>;
    try {
      p = command(this.client);
    } catch (e) {
      p = Promise.reject(e);
    }
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(
            new RedisStoreError(`redis ${this.label}: ${op}: no answer within ${this.commandTimeoutMs} ms`),
          ),
        this.commandTimeoutMs,
      );
      p.then(
        (v) => {
          clearTimeout(timer);
          resolve(v);
        },
        (e: unknown) => {
          clearTimeout(timer);
          reject(new RedisStoreError(`redis ${this.label}: ${op}: ${message(e)}`, { cause: e }));
        },
      );
    });
  }

  /** Closes the connection: pending commands get up to 500 ms, then it is torn down. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.base.isReady) {
      let timer: NodeJS.Timeout | undefined;
      const graceful = this.base.close().then(
        () => true,
        () => false,
      );
      const late = new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), 500);
      });
      const done = await Promise.race([graceful, late]);
      clearTimeout(timer);
      if (done) return;
    }
    // Its pending connect() settles by itself (handled in the constructor): no need to wait for it.
    if (this.base.isOpen) this.base.destroy();
  }
}

function idKey(id: Uint8Array): string {
  return Buffer.from(id.buffer, id.byteOffset, id.byteLength).toString("base64url");
}

/** Redis wants whole seconds, at least 1. */
function ttl(seconds: number): number {
  return Math.max(1, Math.ceil(seconds));
}

/**
 * A SessionStore in Redis: `<prefix>sess:<base64url id>` holds a session (SET EX ttl), and
 * `<prefix>used:<base64url id>` records a used single-use ticket (SET NX EX ttl).
 */
export class RedisSessionStore implements SessionStore {
  constructor(
    private readonly redis: RedisConnection,
    private readonly prefix = "typetls:",
  ) {}

  private sess(id: Uint8Array): string {
    return `${this.prefix}sess:${idKey(id)}`;
  }

  async get(id: Uint8Array): Promise<Uint8Array | undefined> {
    const v = await this.redis.run("GET", (c) => c.get(this.sess(id)));
    return v === null ? undefined : new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
  }

  async set(id: Uint8Array, value: Uint8Array, ttlSeconds: number): Promise<void> {
    const v = Buffer.from(value.buffer, value.byteOffset, value.byteLength);
    await this.redis.run("SET", (c) =>
      c.set(this.sess(id), v, { expiration: { type: "EX", value: ttl(ttlSeconds) } }),
    );
  }

  async delete(id: Uint8Array): Promise<void> {
    await this.redis.run("DEL", (c) => c.del(this.sess(id)));
  }

  async markUsed(id: Uint8Array, ttlSeconds: number): Promise<boolean> {
    const r = await this.redis.run("SET NX", (c) =>
      c.set(`${this.prefix}used:${idKey(id)}`, "1", {
        condition: "NX",
        expiration: { type: "EX", value: ttl(ttlSeconds) },
      }),
    );
    return r !== null;
  }
}

export interface RedisTicketKeysOptions {
  /** The Redis key holding the fleet's ring as JSON (TicketKeyRing.toJSON). Default "typetls:ticket-keys". */
  key?: string;
  /** Make a new current key this often (default 3600 s); one server of the fleet does it. */
  rotateEverySeconds?: number;
  /** Reload the ring from Redis this often (default 5 s, ±20 % jitter). */
  refreshEverySeconds?: number;
  /** Previous keys kept (default 2): a ticket opens for up to keep + 1 rotation periods. */
  keep?: number;
  crypto?: CryptoProvider;
  /** start() first waits this long for the connection if it is not ready yet (default 1000 ms). */
  startWaitMs?: number;
  /** Sync problems: the first of a run of failures, and an unreadable ring in Redis. */
  onError?: (error: unknown) => void;
}

/** Sets the key to ARGV[2] only if it still holds ARGV[1]: one rotation per period in a fleet. */
const COMPARE_AND_SET = `if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('SET', KEYS[1], ARGV[2]) return 1 end return 0`;

/**
 * The fleet's ticket keys. `ring` is what the server uses (pass it as ServerOptions.ticketKeys);
 * until the first successful sync it holds a fresh local key (such tickets open only here).
 */
export class RedisTicketKeys {
  readonly ring: TicketKeyRing;
  readonly key: string;
  private readonly rotateMs: number;
  private readonly refreshMs: number;
  private readonly keep: number;
  private readonly startWaitMs: number;
  private readonly crypto: CryptoProvider;
  private readonly onError: (error: unknown) => void;
  private timer: NodeJS.Timeout | undefined;
  private syncing: Promise<boolean> | undefined;
  private failing = false;
  private stopped = false;
  /** How many syncs ran, and how many rotations this instance made (for tests and monitoring). */
  syncs = 0;
  rotations = 0;

  constructor(
    private readonly redis: RedisConnection,
    opts: RedisTicketKeysOptions = {},
  ) {
    this.key = opts.key ?? "typetls:ticket-keys";
    const rotate = opts.rotateEverySeconds ?? 3600;
    const refresh = opts.refreshEverySeconds ?? 5;
    if (!(rotate > 0) || !(refresh > 0))
      throw new ConfigError("ticket keys: rotateEverySeconds and refreshEverySeconds must be positive");
    this.rotateMs = rotate * 1000;
    this.refreshMs = refresh * 1000;
    this.keep = opts.keep ?? 2;
    this.startWaitMs = opts.startWaitMs ?? 1000;
    this.crypto = opts.crypto ?? nodeCrypto;
    this.onError = opts.onError ?? ((e) => redis.report(e));
    this.ring = new TicketKeyRing(this.crypto, undefined, this.keep);
  }

  /** The first sync (bounded by a few command timeouts), then one every refreshEverySeconds. */
  async start(): Promise<boolean> {
    if (this.startWaitMs > 0) await this.redis.ready(this.startWaitMs);
    const ok = await this.sync();
    this.schedule();
    return ok;
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  private schedule(): void {
    if (this.stopped) return;
    const delay = this.refreshMs * (0.8 + 0.4 * Math.random());
    this.timer = setTimeout(() => {
      void this.sync().finally(() => this.schedule());
    }, delay);
    // The ring never keeps a process alive by itself.
    this.timer.unref();
  }

  /**
   * One round: load the fleet's ring (creating it from the local one when Redis has none, e.g.
   * after Redis restarted empty), adopt it, rotate it if its current key is due. Never throws;
   * false when Redis could not be reached or its ring could not be read.
   */
  sync(): Promise<boolean> {
    this.syncing ??= this.syncOnce().finally(() => {
      this.syncing = undefined;
    });
    return this.syncing;
  }

  private async syncOnce(): Promise<boolean> {
    try {
      let stored = await this.load();
      const current = this.ring.all[0]!;
      if (Date.now() - current.createdAt >= this.rotateMs) {
        const next = new TicketKeyRing(this.crypto, this.ring.all, this.keep);
        next.rotate();
        const json = next.toJSON();
        const won = await this.redis.run("EVAL", (c) =>
          c.eval(COMPARE_AND_SET, { keys: [this.key], arguments: [stored, json] }),
        );
        if (won === 1) {
          this.ring.replace(next.all);
          this.rotations++;
        } else {
          // Another server rotated (or rewrote the ring) first: take theirs.
          stored = await this.load();
        }
      }
      this.syncs++;
      this.failing = false;
      return true;
    } catch (e) {
      if (!this.failing) this.onError(e);
      this.failing = true;
      return false;
    }
  }

  /** Reads the ring from Redis (creating it if absent) into the local ring; the stored JSON. */
  private async load(): Promise<string> {
    let raw = await this.redis.run("GET", (c) => c.get(this.key));
    if (raw === null) {
      const mine = this.ring.toJSON();
      const created = await this.redis.run("SET NX", (c) => c.set(this.key, mine, { condition: "NX" }));
      if (created !== null) return mine;
      raw = await this.redis.run("GET", (c) => c.get(this.key));
      if (raw === null)
        throw new RedisStoreError(`redis ${this.redis.label}: ${this.key} vanished while being created`);
    }
    const text = raw.toString("utf8");
    let keys: ReturnType<typeof TicketKeyRing.parse>;
    try {
      keys = TicketKeyRing.parse(text);
    } catch (e) {
      throw new RedisStoreError(`redis ${this.redis.label}: ${this.key}: ${message(e)}`, { cause: e });
    }
    const theirs = new TicketKeyRing(this.crypto, keys, this.keep);
    if (theirs.toJSON() !== this.ring.toJSON()) this.ring.replace(keys);
    return text;
  }
}
