// Runs the benchmark's own code (bench/core.ts: forked server and client workers, both
// implementations) for a fraction of a second, so that `npm run bench` cannot rot unnoticed.
import assert from "node:assert/strict";
import { before, test } from "node:test";
import {
  type HandshakeCase,
  loadMaterial,
  type Material,
  MIXED,
  NODE_CLIENT,
  runBulk,
  runHandshake,
  runIdle,
  SAME,
} from "../../bench/core.js";
import { type Collected, renderTable } from "../../bench/report.js";

let material: Material;
before(async () => {
  material = await loadMaterial();
});

test("bench: handshake loop, both implementations, ECDSA and RSA", { timeout: 120_000 }, async () => {
  const collected: Collected = {
    entry: {
      id: "hs/ecdsa/c2",
      spec: { kind: "handshake", cert: "ecdsa", suite: "ecdsaAes128", concurrency: 2 },
      pairs: [...SAME],
    },
    runs: new Map(),
  };
  for (const pair of SAME) {
    for (const [cert, suite] of [
      ["ecdsa", "ecdsaAes128"],
      ["rsa", "rsaAes128"],
    ] as const) {
      const r = await runHandshake(material, { kind: "handshake", cert, suite, concurrency: 2 }, pair, {
        warmupMs: 50,
        durationMs: 200,
        minConnections: 2, // however busy the machine, the checks below have samples
      });
      const what = `${pair.client}->${pair.server} ${cert}`;
      assert.ok(r.client.connections > 0, `${what}: client finished no connection`);
      assert.ok(r.server.handshakes > 0, `${what}: server completed no handshake`);
      assert.equal(r.client.errors, 0, `${what}: ${r.client.firstError}`);
      assert.equal(r.server.errors, 0, `${what}: ${r.server.firstError}`);
      assert.equal(r.client.group, "X25519");
      assert.ok(r.connPerSec > 0 && Number.isFinite(r.serverCpuUs) && r.clientCpuUs > 0, what);
      if (cert === "ecdsa") collected.runs.set(`${pair.client}->${pair.server}`, [{ ok: true, value: r }]);
    }
  }
  const table = renderTable([collected]);
  assert.match(table, /handshake ECDSA P-256 c=2: conn\/s \|\s+[\d,.]+ \|\s+[\d,.]+ \|\s+[\d.]+×/);
});

test("bench: resumed handshakes of every kind, both implementations, in the table next to the full ones", {
  timeout: 120_000,
}, async () => {
  const c = 2;
  const full12: Collected = {
    entry: {
      id: "hs/ecdsa/c2",
      spec: { kind: "handshake", cert: "ecdsa", suite: "ecdsaAes128", concurrency: c },
      pairs: [...SAME],
    },
    runs: new Map(),
  };
  const collected: Collected[] = [full12];
  for (const [suite, resume] of [
    ["ecdsaAes128", "session_id"],
    ["ecdsaAes128", "ticket"],
    ["tls13Aes128", "psk_dhe_ke"],
  ] as const) {
    const spec = { kind: "handshake", cert: "ecdsa", suite, concurrency: c, resume } as const;
    const entry: Collected = {
      entry: { id: `resume/${resume}/c2`, spec, pairs: [...SAME] },
      runs: new Map(),
    };
    collected.push(entry);
    for (const pair of SAME) {
      // runHandshake itself fails when connections are not resumed (all but each loop's first).
      // 2c + 1 connections in the window: at most c are a loop's first (full) one, so some resume.
      const r = await runHandshake(material, spec, pair, {
        warmupMs: 50,
        durationMs: 250,
        minConnections: 2 * c + 1,
      });
      const what = `${pair.client}->${pair.server} ${resume}`;
      assert.equal(
        r.client.errors + r.server.errors,
        0,
        `${what}: ${r.client.firstError ?? r.server.firstError}`,
      );
      assert.ok(r.client.resumed > 0, `${what}: resumed connections`);
      assert.ok(r.client.connections - r.client.resumed <= c, `${what}: at most one full handshake per loop`);
      assert.ok(r.server.resumed > 0, `${what}: the server saw resumptions`);
      if (pair.client === "typetls") assert.equal(r.client.resumedWith, resume, what);
      entry.runs.set(`${pair.client}->${pair.server}`, [{ ok: true, value: r }]);
    }
  }
  for (const pair of SAME) {
    const r = await runHandshake(material, full12.entry.spec as HandshakeCase, pair, {
      warmupMs: 50,
      durationMs: 200,
      minConnections: 2,
    });
    assert.equal(r.client.resumed, 0, "full handshakes are not resumed");
    full12.runs.set(`${pair.client}->${pair.server}`, [{ ok: true, value: r }]);
  }
  const table = renderTable(collected);
  for (const label of ["TLS 1.2 session id", "TLS 1.2 ticket", "TLS 1.3 psk_dhe_ke"])
    assert.match(
      table,
      new RegExp(`resumed ${label} c=2: conn/s\\s+\\|\\s+[\\d,.]+ \\|\\s+[\\d,.]+ \\|\\s+[\\d.]+×`),
    );
  // TLS 1.2 resumed rows are compared with the full TLS 1.2 case of the same run.
  assert.match(
    table,
    /resumed TLS 1\.2 ticket c=2: conn\/s[^\n]*\n\|\s+× full-handshake conn\/s\s+\|\s+[\d.]+× \|/,
  );
});

test("bench: bulk transfer moves exactly the bytes asked for, every pair", { timeout: 120_000 }, async () => {
  const params = { writeSize: 16384, warmupBytes: 256 * 1024, measuredBytes: 2 * 1024 * 1024 };
  const total = params.warmupBytes + params.measuredBytes;
  for (const suite of ["ecdsaAes128", "ecdsaChacha"] as const) {
    for (const pair of [...SAME, ...MIXED]) {
      const r = await runBulk(material, { kind: "bulk", suite }, pair, params);
      const what = `${pair.client}->${pair.server} ${suite}`;
      assert.equal(r.sender.totalBytes, total, what);
      assert.equal(r.receiver.totalBytes, total, what);
      assert.ok(r.receiver.measuredBytes > 0 && r.receiver.measuredBytes <= params.measuredBytes, what);
      assert.ok(r.mbPerSec > 0 && r.receiverCpuUsPerMB > 0 && r.senderCpuUsPerMB > 0, what);
    }
  }
});

test("bench: servers only (one node:tls client for both), and the memory of idle connections", {
  timeout: 120_000,
}, async () => {
  const spec = {
    kind: "handshake",
    cert: "ecdsa",
    suite: "tls13Aes128",
    concurrency: 2,
    client: "node",
  } as const;
  const cps: Collected = { entry: { id: "cps/ecdsa13/c2", spec, pairs: [...NODE_CLIENT] }, runs: new Map() };
  const idleSpec = { kind: "idle", suite: "tls13Aes128", connections: 40 } as const;
  const idle: Collected = {
    entry: { id: "idle/ecdsa13/k40", spec: idleSpec, pairs: [...NODE_CLIENT] },
    runs: new Map(),
  };
  for (const pair of NODE_CLIENT) {
    const what = `${pair.client}->${pair.server}`;
    const r = await runHandshake(material, spec, pair, { warmupMs: 50, durationMs: 250, minConnections: 2 });
    assert.equal(
      r.client.errors + r.server.errors,
      0,
      `${what}: ${r.client.firstError ?? r.server.firstError}`,
    );
    assert.ok(r.client.connections > 0 && r.server.handshakes > 0, what);
    assert.equal(r.client.cipher, "TLS_AES_128_GCM_SHA256");
    cps.runs.set(`${pair.client}->${pair.server}`, [{ ok: true, value: r }]);
    // runIdle itself fails unless the server holds every connection and has global.gc.
    const m = await runIdle(material, idleSpec, pair, { warmup: 10, concurrency: 4 });
    assert.equal(m.idle.connections, 40, what);
    assert.ok(m.baseline.rssBytes > 0 && m.idle.rssBytes > 0, what);
    assert.ok(Number.isFinite(m.rssPerConnection) && Number.isFinite(m.heapPerConnection), what);
    idle.runs.set(`${pair.client}->${pair.server}`, [{ ok: true, value: m }]);
  }
  const table = renderTable([cps, idle]);
  assert.match(
    table,
    /handshake TLS 1\.3 ECDSA P-256 c=2, servers only \(node client\): conn\/s \|\s+[\d,.]+ \|\s+[\d,.]+ \|\s+[\d.]+×/,
  );
  assert.match(
    table,
    /40 idle TLS 1\.3 AES-128-GCM connections: server RSS KiB \/ conn\s+\|\s+-?[\d.]+ \|\s+-?[\d.]+ \|/,
  );
  assert.match(table, /server JS heap KiB \/ conn/);
});
