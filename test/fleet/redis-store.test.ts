/**
 * RedisSessionStore, RedisTicketKeys and createSessionStoreFromUrl against a real redis-server (on
 * a free port, killed, frozen and restarted by the tests): sessions, expiry, single use, one shared
 * ticket key ring, rotation by one server per period, and a Redis that is down or frozen: commands
 * fail fast, errors are reported, nothing is left unhandled and handshakes go on.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import {
  ConfigError,
  type CreateServerOptions,
  createServer,
  MemorySessionStore,
  nodeCrypto,
  type TLSServer,
} from "../../src/index.js";
import {
  RedisConnection,
  RedisSessionStore,
  RedisStoreError,
  RedisTicketKeys,
} from "../../src/session/redis.js";
import { createSessionStoreFromUrl } from "../../src/session/store-url.js";
import { TicketKeyRing } from "../../src/session/ticket-keys.js";
import { type StandardPki, standardPki } from "../fixtures/pki.js";
import { freePort } from "../interop/peers.js";
import { lastSession, until, visit } from "./client.js";
import { RedisServer, redisVersion, requireRedis, skipWithoutRedis, stopAllRedis } from "./redis-server.js";

const T = { timeout: 30_000 };
const bytes = (...b: number[]): Uint8Array => new Uint8Array(b);

const unhandled: unknown[] = [];
const onUnhandled = (e: unknown): void => {
  unhandled.push(e);
};
process.on("unhandledRejection", onUnhandled);

const opened: Array<{ close(): Promise<void> }> = [];
/** A connection closed after the tests; errors collected in `errors`. */
function conn(url: string, errors: unknown[] = []): RedisConnection {
  const c = new RedisConnection({ url, onError: (e) => errors.push(e) });
  opened.push(c);
  return c;
}

/** A connection that is ready. */
async function ready(url: string): Promise<RedisConnection> {
  const c = conn(url);
  assert.ok(await c.ready(5000), `connected to ${url}`);
  return c;
}

async function elapsed<T>(p: Promise<T>): Promise<{ ms: number; result: PromiseSettledResult<T> }> {
  const t0 = performance.now();
  const [result] = await Promise.allSettled([p]);
  return { ms: performance.now() - t0, result: result! };
}

function rejectedWith(r: PromiseSettledResult<unknown>, re: RegExp): void {
  assert.equal(r.status, "rejected", "the command failed");
  if (r.status === "rejected") {
    assert.ok(r.reason instanceof RedisStoreError, `a RedisStoreError, not ${String(r.reason)}`);
    assert.match(r.reason.message, re);
  }
}

after(async () => {
  await Promise.all(opened.map((c) => c.close()));
  await stopAllRedis();
  process.off("unhandledRejection", onUnhandled);
});

test("redis-server is there", (t) => {
  if (!requireRedis(t)) return;
  t.diagnostic(redisVersion() ?? "");
});

describe("RedisSessionStore", {
  skip: skipWithoutRedis(),
}, () => {
  let redis: RedisServer;
  let store: RedisSessionStore;
  before(async () => {
    redis = await RedisServer.start();
    store = new RedisSessionStore(await ready(redis.url));
  });

  test("get / set / delete, binary values, missing ids", T, async () => {
    const id = bytes(1, 2, 3, 250);
    const value = bytes(0, 255, 0, 10, 13, 0);
    assert.equal(await store.get(id), undefined);
    await store.set(id, value, 60);
    assert.deepEqual(await store.get(id), value);
    assert.equal(await store.get(bytes(1, 2, 3)), undefined, "another id");
    // A view into a larger buffer is stored as just its bytes.
    const big = bytes(9, 9, 7, 8, 9, 9);
    await store.set(big.subarray(2, 4), big.subarray(1, 5), 60);
    assert.deepEqual(await store.get(bytes(7, 8)), bytes(9, 7, 8, 9));
    await store.delete(id);
    assert.equal(await store.get(id), undefined);
  });

  test("sessions expire after their ttl (fractions round up to whole seconds)", T, async () => {
    const id = bytes(7, 7);
    await store.set(id, bytes(1), 0.2);
    assert.deepEqual(await store.get(id), bytes(1), "still there at once (ttl rounded up to 1 s)");
    await until(async () => (await store.get(id)) === undefined, 3000, "expiry");
  });

  test("markUsed: true the first time only, until its ttl passes", T, async () => {
    const id = bytes(42, 1);
    assert.equal(await store.markUsed(id, 1), true);
    assert.equal(await store.markUsed(id, 1), false);
    assert.equal(await store.markUsed(bytes(42, 2), 1), true, "another id");
    // Used records do not collide with sessions of the same id.
    await store.set(id, bytes(5), 60);
    assert.deepEqual(await store.get(id), bytes(5));
    await until(async () => await store.markUsed(id, 1), 3000, "the used record to expire");
  });

  test("concurrent markUsed of one id: exactly one wins", T, async () => {
    const other = new RedisSessionStore(await ready(redis.url));
    const id = bytes(99, 3);
    const results = await Promise.all([
      store.markUsed(id, 30),
      other.markUsed(id, 30),
      store.markUsed(id, 30),
      other.markUsed(id, 30),
    ]);
    assert.equal(results.filter((r) => r).length, 1, `${results}`);
  });
});

describe("RedisTicketKeys", {
  skip: skipWithoutRedis(),
}, () => {
  let redis: RedisServer;
  before(async () => {
    redis = await RedisServer.start();
  });

  test("the ring is created once and shared by every instance", T, async () => {
    const key = "test:ring-shared";
    const n = 4;
    const all = Array.from({ length: n }, () => new RedisTicketKeys(conn(redis.url), { key }));
    assert.equal(new Set(all.map((k) => k.ring.toJSON())).size, n, "before the sync: a fresh local key each");
    const ok = await Promise.all(all.map((k) => k.start()));
    for (const k of all) k.stop();
    assert.deepEqual(ok, Array(n).fill(true));
    const rings = new Set(all.map((k) => k.ring.toJSON()));
    assert.equal(rings.size, 1, "one ring for all");
    assert.equal(all[0]!.ring.all.length, 1, "one key");
    const c = await ready(redis.url);
    const stored = await c.run("GET", (x) => x.get(key));
    assert.equal(stored?.toString(), [...rings][0], "Redis holds that ring");
    // What one seals the other opens.
    const sealed = all[0]!.ring.seal(bytes(1, 2, 3));
    assert.deepEqual(all[3]!.ring.open(sealed), bytes(1, 2, 3));
  });

  test(
    "rotation: one instance rotates per period, 2 previous keys still open, older ones not",
    T,
    async () => {
      const key = "test:ring-rotate";
      // Synced by hand (refresh far away): rotation is due 1 s after the current key was made.
      const a = new RedisTicketKeys(conn(redis.url), {
        key,
        rotateEverySeconds: 1,
        refreshEverySeconds: 3600,
      });
      const b = new RedisTicketKeys(conn(redis.url), {
        key,
        rotateEverySeconds: 1,
        refreshEverySeconds: 3600,
      });
      try {
        await Promise.all([a.start(), b.start()]);
        assert.equal(a.ring.toJSON(), b.ring.toJSON());
        const t0 = a.ring.seal(bytes(0));
        const names: string[] = [Buffer.from(a.ring.all[0]!.name).toString("hex")];
        for (let period = 1; period <= 3; period++) {
          await new Promise((r) => setTimeout(r, 1050));
          const before = a.rotations + b.rotations;
          assert.deepEqual(await Promise.all([a.sync(), b.sync(), a.sync()]), [true, true, true]);
          assert.equal(a.rotations + b.rotations - before, 1, `period ${period}: exactly one rotation`);
          await b.sync();
          assert.equal(a.ring.toJSON(), b.ring.toJSON(), `period ${period}: same ring`);
          assert.equal(a.ring.all.length, Math.min(period + 1, 3), "current + at most 2 previous");
          names.unshift(Buffer.from(a.ring.all[0]!.name).toString("hex"));
          assert.deepEqual(
            a.ring.all.map((k) => Buffer.from(k.name).toString("hex")),
            names.slice(0, 3),
            "newest first",
          );
          if (period < 3)
            assert.deepEqual(b.ring.open(t0), bytes(0), `period ${period}: the first ticket opens`);
          else assert.equal(b.ring.open(t0), undefined, "3 rotations later the first key is gone");
        }
      } finally {
        a.stop();
        b.stop();
      }
    },
  );

  test("the refresh timer follows another instance's rotation", T, async () => {
    const key = "test:ring-follow";
    const a = new RedisTicketKeys(conn(redis.url), { key, refreshEverySeconds: 3600 });
    const b = new RedisTicketKeys(conn(redis.url), { key, refreshEverySeconds: 0.1 });
    try {
      await Promise.all([a.start(), b.start()]);
      const c = await ready(redis.url);
      // An operator (or another server) rotates the ring in Redis.
      const next = new TicketKeyRing(nodeCrypto, a.ring.all);
      next.rotate();
      await c.run("SET", (x) => x.set(key, next.toJSON()));
      await until(() => b.ring.toJSON() === next.toJSON(), 3000, "b to adopt the new ring");
      assert.notEqual(a.ring.toJSON(), next.toJSON(), "a has not synced yet");
      assert.equal(await a.sync(), true);
      assert.equal(a.ring.toJSON(), next.toJSON());
    } finally {
      a.stop();
      b.stop();
    }
  });

  test("an unreadable ring in Redis is reported once and the local ring kept", T, async () => {
    const key = "test:ring-bad";
    const errors: unknown[] = [];
    const k = new RedisTicketKeys(conn(redis.url), {
      key,
      refreshEverySeconds: 3600,
      onError: (e) => errors.push(e),
    });
    await k.start();
    k.stop();
    const ring = k.ring.toJSON();
    await (await ready(redis.url)).run("SET", (x) => x.set(key, '[{"name":"zz"}]'));
    assert.equal(await k.sync(), false);
    assert.equal(await k.sync(), false);
    assert.equal(errors.length, 1, "reported once");
    assert.match(String(errors[0]), /test:ring-bad: ticket keys: bad entry/);
    assert.equal(k.ring.toJSON(), ring);
  });

  test("Redis restarted empty: the ring is written back from the servers' copy", T, async () => {
    const r = await RedisServer.start();
    const key = "test:ring-restart";
    const a = new RedisTicketKeys(conn(r.url), { key, refreshEverySeconds: 3600 });
    const b = new RedisTicketKeys(conn(r.url), { key, refreshEverySeconds: 3600 });
    try {
      await Promise.all([a.start(), b.start()]);
      const ring = a.ring.toJSON();
      const ticket = a.ring.seal(bytes(3));
      await r.restart();
      const c = conn(r.url);
      await until(() => c.isReady, 10_000, "reconnection");
      await until(async () => (await a.sync()) && (await b.sync()), 10_000, "syncs to succeed");
      assert.equal((await c.run("GET", (x) => x.get(key)))?.toString(), ring, "written back as it was");
      assert.equal(b.ring.toJSON(), ring);
      assert.deepEqual(b.ring.open(ticket), bytes(3), "tickets from before the restart still open");
    } finally {
      a.stop();
      b.stop();
      await r.stop();
    }
  });
});

describe("Redis down or frozen", {
  skip: skipWithoutRedis(),
}, () => {
  test("nothing listening: commands fail at once, errors reported, sync false, no crash", T, async () => {
    const port = await freePort();
    const errors: unknown[] = [];
    const c = conn(`redis://127.0.0.1:${port}`, errors);
    const store = new RedisSessionStore(c);
    const keys = new RedisTicketKeys(c, { refreshEverySeconds: 0.1, startWaitMs: 0 });
    const localRing = keys.ring.toJSON();
    assert.equal(await c.ready(300), false);
    for (const op of [
      store.get(bytes(1)),
      store.set(bytes(1), bytes(2), 5),
      store.markUsed(bytes(1), 5),
    ] as Promise<unknown>[]) {
      const { ms, result } = await elapsed(op);
      rejectedWith(
        result,
        /redis redis:\/\/127\.0\.0\.1:\d+: (GET|SET|SET NX): not connected \(reconnecting\)/,
      );
      assert.ok(ms < 100, `failed in ${ms.toFixed(0)} ms`);
    }
    assert.equal(await keys.start(), false);
    // A second of failing refreshes and reconnection attempts.
    await new Promise((r) => setTimeout(r, 1000));
    keys.stop();
    assert.equal(keys.ring.toJSON(), localRing, "the local ring stays in use");
    const text = errors.map(String);
    assert.ok(
      text.some((e) => /ECONNREFUSED/.test(e)),
      text.join("\n"),
    );
    assert.ok(
      text.some((e) => /GET: not connected/.test(e)),
      text.join("\n"),
    );
    // Distinct problems once each: not one line per attempt.
    assert.equal(new Set(text).size, text.length, text.join("\n"));
    assert.ok(errors.every((e) => e instanceof RedisStoreError));
    await c.close();
    assert.deepEqual(unhandled, []);
  });

  test("killed while connected, then back: fail fast, then work again", T, async () => {
    const r = await RedisServer.start();
    const errors: unknown[] = [];
    const c = conn(r.url, errors);
    const store = new RedisSessionStore(c);
    assert.ok(await c.ready(5000));
    await store.set(bytes(1), bytes(1), 60);
    await r.kill();
    await until(() => !c.isReady, 3000, "the client to notice");
    const { ms, result } = await elapsed(store.get(bytes(1)));
    rejectedWith(result, /GET: not connected/);
    assert.ok(ms < 100, `failed in ${ms.toFixed(0)} ms`);
    await r.restart();
    await until(() => c.isReady, 10_000, "reconnection");
    assert.equal(await store.get(bytes(1)), undefined, "the restarted Redis is empty");
    await store.set(bytes(1), bytes(9), 60);
    assert.deepEqual(await store.get(bytes(1)), bytes(9));
    assert.ok(errors.length >= 1, "the outage was reported");
    await r.stop();
    assert.deepEqual(unhandled, []);
  });

  test(
    "frozen (SIGSTOP): commands fail after the command timeout; it answers again once resumed",
    T,
    async () => {
      const r = await RedisServer.start();
      const c = conn(r.url);
      const store = new RedisSessionStore(c);
      assert.ok(await c.ready(5000));
      await store.set(bytes(2), bytes(2), 60);
      r.pause();
      try {
        const { ms, result } = await elapsed(store.get(bytes(2)));
        rejectedWith(result, /GET: no answer within 200 ms/);
        assert.ok(ms >= 190 && ms < 400, `failed after ${ms.toFixed(0)} ms`);
      } finally {
        r.resume();
      }
      await until(
        async () => (await store.get(bytes(2)).catch(() => undefined)) !== undefined,
        3000,
        "answers",
      );
      await r.stop();
      assert.deepEqual(unhandled, []);
    },
  );
});

describe("handshakes against a Redis store (in-process servers)", {
  skip: skipWithoutRedis(),
}, () => {
  let pki: StandardPki;
  let r: RedisServer;
  const servers: TLSServer[] = [];
  const storeErrors: unknown[] = [];
  before(async () => {
    pki = await standardPki();
    r = await RedisServer.start();
  });
  after(async () => {
    await Promise.all(servers.map((s) => new Promise<void>((res) => s.close(() => res()))));
  });

  async function fleetServer(extra: CreateServerOptions = {}): Promise<number> {
    return serve(await createSessionStoreFromUrl(r.url, { onError: (e) => storeErrors.push(e) }), extra);
  }

  async function serve(
    opened: Awaited<ReturnType<typeof createSessionStoreFromUrl>>,
    extra: CreateServerOptions,
  ): Promise<number> {
    openedStores.push(opened);
    const s = createServer(
      {
        cert: pki.p256.chainPem,
        key: pki.p256.leaf.keyPem,
        sessionStore: opened.store,
        ...(opened.ticketKeys ? { ticketKeys: opened.ticketKeys } : {}),
        onSessionStoreError: (e) => storeErrors.push(e),
        ...extra,
      },
      (sock) => {
        sock.once("data", () => sock.end("hello\n"));
      },
    );
    servers.push(s);
    await new Promise<void>((res) => s.listen(0, "127.0.0.1", () => res()));
    const addr = s.address();
    assert.ok(addr && typeof addr === "object");
    return addr.port;
  }
  const openedStores: Array<{ close(): Promise<void> }> = [];
  after(async () => {
    await Promise.all(openedStores.map((o) => o.close()));
  });

  test("resumed across two servers: TLS 1.2 session id, TLS 1.2 ticket, TLS 1.3 ticket", T, async () => {
    const a = await fleetServer();
    const b = await fleetServer();
    const ca = pki.p256.root.certPem;
    const cases = [
      {
        name: "TLS 1.2 session id",
        opts: { maxVersion: "TLSv1.2", sessionTickets: false },
        with: "session_id",
      },
      { name: "TLS 1.2 ticket", opts: { maxVersion: "TLSv1.2" }, with: "ticket" },
      { name: "TLS 1.3 ticket", opts: {}, with: "psk_dhe_ke" },
    ] as const;
    for (const c of cases) {
      const first = await visit({ port: a, ca, ...c.opts });
      assert.equal(first.info.resumed, false, `${c.name}: first handshake is full`);
      const second = await visit({ port: b, ca, session: lastSession(first), ...c.opts });
      assert.equal(second.info.resumed, true, `${c.name}: resumed on the other server`);
      assert.equal(second.info.resumedWith, c.with, c.name);
      assert.equal(second.body, "hello\n");
    }
    assert.deepEqual(storeErrors, []);
  });

  test("single-use TLS 1.3 tickets: used on one server, refused by the other", T, async () => {
    const a = await fleetServer({ singleUseTickets: true });
    const b = await fleetServer({ singleUseTickets: true });
    const ca = pki.p256.root.certPem;
    const first = await visit({ port: a, ca });
    const session = lastSession(first);
    const once = await visit({ port: b, ca, session });
    assert.equal(once.info.resumedWith, "psk_dhe_ke", "the first use resumes (on B)");
    const again = await visit({ port: a, ca, session });
    assert.equal(again.info.resumed, false, "the second use (on A) is a full handshake");
    // The new ticket from B's connection is good once, anywhere.
    assert.equal((await visit({ port: a, ca, session: lastSession(once) })).info.resumed, true);
  });

  test(
    "Redis frozen: handshakes are full ones, held up by about the command timeout at most",
    T,
    async (t) => {
      const a = await fleetServer();
      const ca = pki.p256.root.certPem;
      const opts = { maxVersion: "TLSv1.2", sessionTickets: false } as const;
      const first = await visit({ port: a, ca, ...opts });
      const normal = await visit({ port: a, ca, ...opts });
      const su = await fleetServer({ singleUseTickets: true });
      const suFirst = await visit({ port: su, ca });
      r.pause();
      try {
        const resumed = await visit({ port: a, ca, session: lastSession(first), ...opts });
        assert.equal(resumed.info.resumed, false, "the session could not be looked up: full handshake");
        const fresh = await visit({ port: a, ca, ...opts });
        assert.equal(fresh.info.resumed, false);
        // Single use cannot be checked: the ticket is refused (fails closed), a full handshake follows.
        const suAgain = await visit({ port: su, ca, session: lastSession(suFirst) });
        assert.equal(suAgain.info.resumed, false, "single-use ticket with the store frozen");
        t.diagnostic(
          `full handshake + page: ${normal.ms.toFixed(0)} ms with Redis up; Redis frozen: ${resumed.ms.toFixed(0)} ms (offered a session id), ${fresh.ms.toFixed(0)} ms (fresh)`,
        );
        // The lookup (and for the fresh one, the store of its new session) waits 200 ms at most each.
        assert.ok(
          resumed.ms < 1500 && fresh.ms < 1500,
          `${resumed.ms.toFixed(0)} / ${fresh.ms.toFixed(0)} ms`,
        );
        assert.ok(
          storeErrors.some((e) => /no answer within 200 ms/.test(String(e))),
          storeErrors.map(String).join("\n"),
        );
      } finally {
        r.resume();
      }
      await until(
        async () => {
          const f = await visit({ port: a, ca, ...opts });
          const g = await visit({ port: a, ca, session: lastSession(f), ...opts });
          return g.info.resumed;
        },
        5000,
        "resumption after Redis came back",
      );
      assert.deepEqual(unhandled, []);
    },
  );
});

test("createSessionStoreFromUrl: memory:, bad URLs", async () => {
  const m = await createSessionStoreFromUrl("memory:", { onError: () => {} });
  assert.ok(m.store instanceof MemorySessionStore);
  assert.equal(m.ticketKeys, undefined);
  await m.close();
  for (const bad of [
    "http://127.0.0.1:6379",
    "redis://127.0.0.1:6379/x",
    "redis://:6379",
    "file:/tmp/x",
    "redis://h:1/0?a=1",
  ])
    await assert.rejects(createSessionStoreFromUrl(bad, { onError: () => {} }), ConfigError, bad);
});

test("createSessionStoreFromUrl: Redis down at start, then up", T, async (t) => {
  if (!requireRedis(t)) return;
  const port = await freePort();
  const errors: unknown[] = [];
  const t0 = performance.now();
  const opened = await createSessionStoreFromUrl(`redis://127.0.0.1:${port}/2`, {
    onError: (e) => errors.push(e),
    refreshEverySeconds: 0.2,
    connectWaitMs: 300,
  });
  try {
    const ms = performance.now() - t0;
    assert.ok(ms < 1500, `returned after ${ms.toFixed(0)} ms`);
    assert.ok(opened.ticketKeys, "a ring to use meanwhile");
    assert.ok(
      errors.some((e) => /not reachable yet/.test(String(e))),
      errors.map(String).join("\n"),
    );
    const local = opened.ticketKeys.toJSON();
    await assert.rejects(Promise.resolve(opened.store.get(bytes(1))), RedisStoreError);
    const r = await RedisServer.start(port);
    // Back: the store works and the local ring becomes the shared one.
    await until(
      async () => {
        try {
          await opened.store.set(bytes(1), bytes(4), 60);
          return true;
        } catch {
          return false;
        }
      },
      10_000,
      "the store to work",
    );
    const c = await ready(`redis://127.0.0.1:${port}/2`);
    await until(
      async () => (await c.run("GET", (x) => x.get("typetls:ticket-keys")))?.toString() === local,
      5000,
      "the ring in db 2",
    );
    assert.deepEqual(await opened.store.get(bytes(1)), bytes(4));
    await r.stop();
  } finally {
    await opened.close();
  }
  assert.deepEqual(unhandled, []);
});
