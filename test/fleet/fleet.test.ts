/**
 * A fleet: three `typetls server --www --session-store redis://...` processes sharing one
 * redis-server. A session established with one server resumes on another (TLS 1.2 session ids and
 * tickets, TLS 1.3 tickets; our client and openssl s_client). Then Redis is killed: the servers
 * stay up, report the store error on stderr and complete full handshakes (stateless tickets even
 * still resume: the ticket keys are held locally); Redis is restarted on the same port and
 * resumption across the fleet works again.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { ConnectOptions } from "../../src/index.js";
import { RedisConnection } from "../../src/session/redis.js";
import { killAll, type Proc, requirePeer, spawnPeer, startCliServer } from "../cli/peers.js";
import { type StandardPki, standardPki } from "../fixtures/pki.js";
import { tempFile } from "../interop/harness.js";
import { lastSession, until, type Visit, visit } from "./client.js";
import { RedisServer, redisVersion, requireRedis, skipWithoutRedis, stopAllRedis } from "./redis-server.js";

const T = { timeout: 60_000 };

interface Member {
  name: string;
  proc: Proc;
  port: number;
}

const MODES = [
  { name: "TLS 1.2 session id", opts: { maxVersion: "TLSv1.2", sessionTickets: false }, with: "session_id" },
  { name: "TLS 1.2 ticket", opts: { maxVersion: "TLSv1.2" }, with: "ticket" },
  { name: "TLS 1.3 ticket", opts: {}, with: "psk_dhe_ke" },
] as const;

/** The --www page's "resumed:" line. */
function pageResumed(v: Visit): string {
  const m = /^resumed: (.*)$/m.exec(v.body);
  assert.ok(m, `the --www page has a "resumed:" line:\n${v.body}`);
  return m[1]!;
}

test("redis-server is installed", (t) => {
  if (requireRedis(t)) t.diagnostic(redisVersion() ?? "");
});

describe("a fleet of typetls servers sharing sessions through Redis", { skip: skipWithoutRedis() }, () => {
  let pki: StandardPki;
  let redis: RedisServer;
  let fleet: Member[] = [];
  let ca: string;

  before(async () => {
    if (redisVersion() === null) return; // the first test fails (TYPETLS_REQUIRE_PEERS=1)
    pki = await standardPki();
    ca = pki.p256.root.certPem;
    redis = await RedisServer.start();
    const args = [
      "--cert",
      pki.p256.files.chain,
      "--key",
      pki.p256.files.leafKey,
      "--www",
      "--session-store",
      redis.url,
    ];
    fleet = await Promise.all(
      ["A", "B", "C"].map(async (name) => ({ name, ...(await startCliServer(args)) })),
    );
  });

  after(async () => {
    await killAll();
    await stopAllRedis();
  });

  const connectOpts = (m: Member, extra: Partial<ConnectOptions>): ConnectOptions => ({
    port: m.port,
    ca,
    ...extra,
  });

  /** Established on `from`, resumed on each of `to`; asserts both sides (client info, server page). */
  async function acrossFleet(mode: (typeof MODES)[number], from: Member, to: Member[]): Promise<void> {
    const first = await visit(connectOpts(from, mode.opts));
    assert.equal(first.info.resumed, false, `${mode.name}: the first handshake (${from.name}) is full`);
    assert.equal(pageResumed(first), "no");
    const session = lastSession(first);
    for (const m of to) {
      const v = await visit(connectOpts(m, { ...mode.opts, session }));
      const where = `${mode.name}: established on ${from.name}, resumed on ${m.name}`;
      assert.equal(v.info.resumed, true, where);
      assert.equal(v.info.resumedWith, mode.with, where);
      assert.equal(pageResumed(v), `yes (${mode.with})`, `${where} (server's page)`);
    }
  }

  test("our client: a session made on one server resumes on the others", T, async () => {
    const [a, b, c] = fleet as [Member, Member, Member];
    for (const mode of MODES) {
      await acrossFleet(mode, a, [b, c]);
      await acrossFleet(mode, c, [a]);
    }
  });

  test(
    "openssl s_client: -sess_out on one server, -sess_in on another (TLS 1.3 and -tls1_2)",
    T,
    async (t) => {
      if (!requirePeer(t, "openssl")) return;
      const [a, b] = fleet as [Member, Member, Member];
      const cases = [
        { name: "TLS 1.3", args: [] as string[], version: "TLSv1.3", with: "psk_dhe_ke" },
        { name: "TLS 1.2 ticket", args: ["-tls1_2"], version: "TLSv1.2", with: "ticket" },
        {
          name: "TLS 1.2 session id",
          args: ["-tls1_2", "-no_ticket"],
          version: "TLSv1.2",
          with: "session_id",
        },
      ];
      for (const c of cases) {
        const sess = tempFile(`fleet-${c.name.replaceAll(" ", "-")}.pem`);
        const first = await sClient(a.port, [...c.args, "-sess_out", sess]);
        assert.match(first, new RegExp(`^New, ${c.version},`, "m"), `${c.name}: full handshake on A`);
        assert.match(first, /^resumed: no$/m);
        const second = await sClient(b.port, [...c.args, "-sess_in", sess]);
        assert.match(second, new RegExp(`^Reused, ${c.version},`, "m"), `${c.name}: s_client resumed on B`);
        assert.match(second, new RegExp(`^resumed: yes \\(${c.with}\\)$`, "m"), `${c.name}: B's page`);
      }

      /** One s_client run: sends the request, reads the page, then ends its stdin. */
      async function sClient(port: number, args: string[]): Promise<string> {
        const p = spawnPeer("openssl", [
          "s_client",
          "-connect",
          `127.0.0.1:${port}`,
          "-servername",
          "localhost",
          "-verify_hostname",
          "localhost",
          "-CAfile",
          pki.p256.files.root,
          "-verify_return_error",
          ...args,
        ]);
        try {
          // Once the handshake is done ("New, TLSv1.3, ..." or "Reused, ..."), ask for the page; end
          // stdin only after it came (a close_notify sent with the request is answered before it).
          await p.waitFor(/^(New|Reused), TLSv1\.[23],/m, 10_000);
          p.write("GET / HTTP/1.0\r\n\r\n");
          await p.waitFor(/^resumed: .*$/m, 10_000);
          p.end();
          await p.waitExit(10_000);
          return p.stdout;
        } finally {
          await p.kill(500);
        }
      }
    },
  );

  test(
    "Redis killed: the fleet serves on (full handshakes, error on stderr); Redis back: resumption again",
    T,
    async (t) => {
      const [a, b] = fleet as [Member, Member, Member];
      const byMode = new Map(MODES.map((m) => [m.with, m]));
      // Sessions made while Redis is up.
      const before = new Map<string, Visit>();
      for (const mode of MODES) before.set(mode.with, await visit(connectOpts(a, mode.opts)));

      await redis.kill();
      const t0 = performance.now();
      // New connections to A and B complete; TLS 1.2 session ids cannot be looked up: full handshakes.
      const idMode = byMode.get("session_id")!;
      for (const m of [a, b]) {
        const fresh = await visit(connectOpts(m, idMode.opts));
        assert.equal(fresh.info.resumed, false);
        assert.equal(pageResumed(fresh), "no");
        const tryResume = await visit(
          connectOpts(m, { ...idMode.opts, session: lastSession(before.get("session_id")!) }),
        );
        assert.equal(tryResume.info.resumed, false, `${m.name}: the session id is in the unreachable store`);
        assert.equal(pageResumed(tryResume), "no");
        for (const v of [fresh, tryResume])
          assert.ok(v.ms < 2000, `${m.name}: handshake took ${v.ms.toFixed(0)} ms`);
      }
      // Tickets are sealed with the ring each server holds: they still resume anywhere.
      for (const w of ["ticket", "psk_dhe_ke"] as const) {
        const v = await visit(
          connectOpts(b, { ...byMode.get(w)!.opts, session: lastSession(before.get(w)!) }),
        );
        assert.equal(v.info.resumedWith, w, `${w}: resumed on B while Redis is down`);
      }
      const outage = performance.now() - t0;
      for (const m of [a, b]) {
        assert.ok(m.proc.running, `${m.name} is still running\n${m.proc.transcript()}`);
        await m.proc.waitFor(
          new RegExp(`redis redis://127\\.0\\.0\\.1:${redis.port}: .*(ECONNREFUSED|not connected|closed)`),
          5000,
        );
      }

      await redis.restart();
      // Reconnection within the backoff (at most ~2 s), then session ids work across the fleet again.
      await until(
        async () => {
          const f = await visit(connectOpts(a, idMode.opts));
          const g = await visit(connectOpts(b, { ...idMode.opts, session: lastSession(f) }));
          return g.info.resumedWith === "session_id";
        },
        15_000,
        "session-id resumption across the fleet after Redis came back",
      );
      for (const mode of MODES) await acrossFleet(mode, b, [a]);
      // The servers write their ring back into the empty Redis (next refresh, within ~6 s).
      const c = new RedisConnection({ url: redis.url });
      try {
        await until(
          async () => c.isReady && (await c.run("GET", (x) => x.get("typetls:ticket-keys"))) !== null,
          10_000,
          "the ring back in Redis",
        );
      } finally {
        await c.close();
      }
      for (const m of fleet) assert.ok(m.proc.running, `${m.name} is still running`);
      t.diagnostic(`outage phase (6 full handshakes, 2 resumptions) ${outage.toFixed(0)} ms`);
      for (const line of a.proc.stderr
        .split("\n")
        .filter((l) => /redis/.test(l))
        .slice(0, 8))
        t.diagnostic(`A stderr: ${line}`);
    },
  );
});
