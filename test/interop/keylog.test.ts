/**
 * Key schedule cross-checks against other implementations, byte for byte:
 * - TLS 1.2: our 'keylog' CLIENT_RANDOM line (client random + master secret) equals what OpenSSL
 *   and GnuTLS write to their key log files for the same connection, in both roles;
 * - TLS 1.3: our five lines (CLIENT/SERVER_HANDSHAKE_TRAFFIC_SECRET, CLIENT/SERVER_TRAFFIC_SECRET_0,
 *   EXPORTER_SECRET) equal OpenSSL's (both roles, every suite, and after a HelloRetryRequest) and
 *   GnuTLS's;
 * - exportKeyingMaterial (RFC 5705, RFC 8446 §7.5) on our side equals node:tls
 *   socket.exportKeyingMaterial on the other side, in both roles and both versions, with a context,
 *   an empty context and no context (the last two are the same in TLS 1.3).
 */
import assert from "node:assert/strict";
import type { AddressInfo } from "node:net";
import { after, describe, test } from "node:test";
import * as tls from "node:tls";
import {
  ALL_SUITE_CASES,
  CELL_TIMEOUT,
  cell,
  chainFor,
  type Describable,
  KEYLOG_LABELS_13,
  keylogLines,
  lineEcho,
  ourClient,
  ourServer,
  pki,
  reverseLine,
  STEP,
  type Suite13Case,
  type SuiteCase,
  TLS13_SUITES,
  tempFile,
  within,
} from "./harness.js";
import { killAllPeers, PROBE_CONNECTIONS, requirePeer, spawnPeer, startServerPeer } from "./peers.js";

after(killAllPeers);

const KEYLOG_SUITES: SuiteCase[] = ALL_SUITE_CASES.filter((s) =>
  [
    "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
    "TLS_RSA_WITH_AES_256_GCM_SHA384",
  ].includes(s.iana),
);

describe("keylog: our CLIENT_RANDOM line equals OpenSSL's and GnuTLS's", { concurrency: 4 }, () => {
  for (const s of KEYLOG_SUITES) {
    test(`our client vs s_server -keylogfile, ${s.iana}`, { timeout: CELL_TIMEOUT }, async (t) => {
      if (!requirePeer(t, "openssl")) return;
      const p = await pki();
      const chain = chainFor(p, s);
      const file = tempFile("s_server.keylog");
      const { proc, port } = await startServerPeer("openssl", (port) => [
        "s_server",
        "-accept",
        `127.0.0.1:${port}`,
        "-tls1_2",
        "-rev",
        "-naccept",
        String(1 + PROBE_CONNECTIONS),
        "-cert",
        chain.files.leaf,
        "-cert_chain",
        chain.files.intermediate,
        "-key",
        chain.files.leafKey,
        "-keylogfile",
        file,
      ]);
      const client = ourClient({
        port,
        servername: "localhost",
        ca: chain.root.certPem,
        cipherSuites: [s.iana],
        ...(s.auth === "RSA-KX" ? { enableLegacyRsaKeyExchange: true } : {}),
      });
      try {
        await cell([client, proc], async () => {
          await client.secure();
          client.sock.write("keylog\n");
          await client.receive(`${reverseLine("keylog")}\n`);
          client.sock.end();
          await client.waitClosed();
          assert.equal((await proc.waitExit(STEP)).code, 0);
          const theirs = keylogLines(file);
          assert.equal(client.keylog.length, 1, "one keylog line from us");
          assert.match(client.keylog[0]!, /^CLIENT_RANDOM [0-9a-f]{64} [0-9a-f]{96}$/);
          assert.deepEqual(theirs, client.keylog, "s_server's key log file has the same line");
        });
      } finally {
        client.sock.destroy();
        await proc.kill();
      }
    });

    test(`our server vs s_client -keylogfile, ${s.iana}`, { timeout: CELL_TIMEOUT }, async (t) => {
      if (!requirePeer(t, "openssl")) return;
      const p = await pki();
      const chain = chainFor(p, s);
      const file = tempFile("s_client.keylog");
      const server = await ourServer({
        cert: chain.chainPem,
        key: chain.leaf.keyPem,
        ...(s.auth === "RSA-KX" ? { enableLegacyRsaKeyExchange: true } : {}),
      });
      server.onConnection = (o) => lineEcho(o, true);
      const proc = spawnPeer("openssl", [
        "s_client",
        "-connect",
        `127.0.0.1:${server.port}`,
        "-servername",
        "localhost",
        "-CAfile",
        chain.files.root,
        "-verify_return_error",
        "-nocommands",
        "-tls1_2",
        "-cipher",
        s.openssl,
        "-keylogfile",
        file,
      ]);
      proc.write("keylog\n");
      try {
        await cell([server, proc], async () => {
          const conn = await server.secured();
          assert.equal((await proc.waitExit(STEP)).code, 0);
          await conn.waitClosed();
          assert.equal(conn.keylog.length, 1, "one keylog line from our server");
          assert.deepEqual(keylogLines(file), conn.keylog);
          // s_client also prints the master secret
          const mk = /\n {4}Master-Key: ([0-9A-F]{96})\n/.exec(proc.stdout)?.[1];
          assert.equal(mk?.toLowerCase(), conn.keylog[0]!.split(" ")[2]);
        });
      } finally {
        await proc.kill();
        await server.close();
      }
    });
  }

  test("our server vs gnutls-cli with SSLKEYLOGFILE", { timeout: CELL_TIMEOUT }, async (t) => {
    if (!requirePeer(t, "gnutls-cli")) return;
    const p = await pki();
    const file = tempFile("gnutls.keylog");
    const server = await ourServer({ cert: p.p256.chainPem, key: p.p256.leaf.keyPem });
    server.onConnection = (o) => lineEcho(o, false);
    const proc = spawnPeer("env", [
      `SSLKEYLOGFILE=${file}`,
      "gnutls-cli",
      "--x509cafile",
      p.p256.files.root,
      "--priority",
      "NORMAL:-VERS-ALL:+VERS-TLS1.2",
      "--sni-hostname",
      "localhost",
      "-p",
      String(server.port),
      "127.0.0.1",
    ]);
    proc.write("keylog\n");
    try {
      await cell([server, proc], async () => {
        const conn = await server.secured();
        await proc.waitFor("echo:keylog\n", STEP);
        proc.endInput();
        assert.equal((await proc.waitExit(STEP)).code, 0);
        await conn.waitClosed();
        assert.equal(conn.keylog.length, 1);
        assert.deepEqual(keylogLines(file), conn.keylog);
      });
    } finally {
      await proc.kill();
      await server.close();
    }
  });
});

// ---- RFC 5705 exporter vs node:tls ---------------------------------------------------------------

const LABEL = "EXPERIMENTAL-typetls";
const CONTEXTS: { name: string; ctx: Uint8Array | undefined }[] = [
  { name: "a context", ctx: new TextEncoder().encode("interop context \u0001\u0002") },
  { name: "an empty context", ctx: new Uint8Array(0) },
  { name: "no context", ctx: undefined },
];

function hex(b: Uint8Array): string {
  return Buffer.from(b).toString("hex");
}

class Log implements Describable {
  readonly lines: string[] = [];
  constructor(readonly label: string) {}
  transcript(): string {
    return `--- ${this.label}:\n${this.lines.join("\n")}\n---`;
  }
}

const EKM_SUITES = ALL_SUITE_CASES.filter((s) =>
  [
    "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
    "TLS_RSA_WITH_AES_128_GCM_SHA256",
  ].includes(s.iana),
);

/** node:tls's exporter; @types/node marks the context required, node itself does not (no context). */
function nodeEkm(sock: tls.TLSSocket, n: number, label: string, ctx?: Uint8Array): Buffer {
  const f = sock.exportKeyingMaterial as (n: number, label: string, ctx?: Buffer) => Buffer;
  return ctx === undefined ? f.call(sock, n, label) : f.call(sock, n, label, Buffer.from(ctx));
}

function ekmCompare(
  ours: { exportKeyingMaterial: (n: number, l: string, c?: Uint8Array) => Uint8Array },
  theirs: tls.TLSSocket,
  log: Log,
): void {
  for (const { name, ctx } of CONTEXTS) {
    const a = hex(ours.exportKeyingMaterial(32, LABEL, ctx));
    const b = hex(nodeEkm(theirs, 32, LABEL, ctx));
    log.lines.push(`${name}: ours ${a} node ${b}`);
    assert.equal(a, b, `exporter with ${name}`);
  }
  // longer than one PRF block of either hash
  const long = hex(ours.exportKeyingMaterial(100, LABEL));
  assert.equal(long, hex(nodeEkm(theirs, 100, LABEL)), "100-byte export");
}

describe("exportKeyingMaterial equals node:tls on the other side", { concurrency: 4 }, () => {
  for (const s of EKM_SUITES) {
    test(`our client, node server, ${s.iana}`, { timeout: CELL_TIMEOUT }, async () => {
      const p = await pki();
      const chain = chainFor(p, s);
      const log = new Log("exporter");
      let nodeSock: tls.TLSSocket | undefined;
      const server = tls.createServer(
        {
          cert: chain.chainPem,
          key: chain.leaf.keyPem,
          minVersion: "TLSv1.2",
          maxVersion: "TLSv1.2",
          ciphers: s.openssl,
        },
        (sock) => {
          nodeSock = sock;
          sock.on("data", () => sock.write("ok\n"));
          sock.on("error", (e) => log.lines.push(`node error ${e.message}`));
        },
      );
      await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
      const client = ourClient({
        port: (server.address() as AddressInfo).port,
        servername: "localhost",
        ca: chain.root.certPem,
        ...(s.auth === "RSA-KX" ? { enableLegacyRsaKeyExchange: true } : {}),
      });
      try {
        await cell([client, log], async () => {
          await client.secure();
          client.sock.write("go\n");
          await client.receive("ok\n");
          assert.ok(nodeSock);
          assert.equal(client.sock.getCipher()?.name, s.openssl);
          ekmCompare(client.sock, nodeSock, log);
          client.sock.end();
          await client.waitClosed();
          client.assertCleanClose();
        });
      } finally {
        client.sock.destroy();
        await new Promise((r) => server.close(r));
      }
    });

    test(`our server, node client, ${s.iana}`, { timeout: CELL_TIMEOUT }, async () => {
      const p = await pki();
      const chain = chainFor(p, s);
      const log = new Log("exporter");
      const server = await ourServer({
        cert: chain.chainPem,
        key: chain.leaf.keyPem,
        ...(s.auth === "RSA-KX" ? { enableLegacyRsaKeyExchange: true } : {}),
      });
      server.onConnection = (o) => lineEcho(o, false);
      const sock = tls.connect({
        host: "127.0.0.1",
        port: server.port,
        servername: "localhost",
        ca: chain.root.certPem,
        minVersion: "TLSv1.2",
        maxVersion: "TLSv1.2",
        ciphers: s.openssl,
      });
      sock.on("error", (e) => log.lines.push(`node error ${e.message}`));
      let got = "";
      sock.on("data", (d: Buffer) => {
        got += d.toString("utf8");
      });
      sock.write("go\n");
      try {
        await cell([server, log], async () => {
          const conn = await server.secured();
          await within(
            STEP,
            "node receives our answer",
            new Promise<void>((resolve) => {
              const check = (): void => {
                if (got.includes("echo:go\n")) resolve();
                else sock.once("data", check);
              };
              check();
            }),
          );
          ekmCompare(conn.sock, sock, log);
          sock.end();
          await conn.waitClosed();
          conn.assertCleanClose();
        });
      } finally {
        sock.destroy();
        await server.close();
      }
    });
  }
});

// ---- TLS 1.3 --------------------------------------------------------------------------------------

/** Key log lines in a stable order (implementations write them in different orders). */
function sorted(lines: readonly string[]): string[] {
  return [...lines].sort();
}

/** Our five TLS 1.3 lines: one of each label, all for the same client random. */
function assertOurLines13(lines: readonly string[], hashLen: number): void {
  assert.deepEqual(
    sorted(lines.map((l) => l.split(" ")[0]!)),
    sorted([...KEYLOG_LABELS_13]),
    "one line per TLS 1.3 secret",
  );
  const randoms = new Set(lines.map((l) => l.split(" ")[1]));
  assert.equal(randoms.size, 1, "one client random");
  for (const l of lines) assert.match(l, new RegExp(`^[A-Z_0-9]+ [0-9a-f]{64} [0-9a-f]{${hashLen * 2}}$`));
}

const KEYLOG13_CASES: { suite: Suite13Case; hashLen: number; groups?: string; label: string }[] = [
  ...TLS13_SUITES.map((s) => ({ suite: s, hashLen: s.iana.endsWith("SHA384") ? 48 : 32, label: s.iana })),
  // after a HelloRetryRequest the transcript starts with message_hash (RFC 8446 §4.4.1)
  {
    suite: TLS13_SUITES[1]!,
    hashLen: 48,
    groups: "P-384",
    label: "TLS_AES_256_GCM_SHA384 after HelloRetryRequest",
  },
];

describe("keylog TLS 1.3: our five secrets equal OpenSSL's and GnuTLS's", { concurrency: 4 }, () => {
  for (const k of KEYLOG13_CASES) {
    test(`our client vs s_server -tls1_3 -keylogfile, ${k.label}`, { timeout: CELL_TIMEOUT }, async (t) => {
      if (!requirePeer(t, "openssl")) return;
      const p = await pki();
      const chain = p.p256;
      const file = tempFile("s_server13.keylog");
      const { proc, port } = await startServerPeer("openssl", (port) => [
        "s_server",
        "-accept",
        `127.0.0.1:${port}`,
        "-tls1_3",
        "-rev",
        "-naccept",
        String(1 + PROBE_CONNECTIONS),
        "-cert",
        chain.files.leaf,
        "-cert_chain",
        chain.files.intermediate,
        "-key",
        chain.files.leafKey,
        "-ciphersuites",
        k.suite.iana,
        ...(k.groups ? ["-groups", k.groups] : []),
        "-keylogfile",
        file,
      ]);
      const client = ourClient({ port, servername: "localhost", ca: chain.root.certPem });
      try {
        await cell([client, proc], async () => {
          const info = await client.secure();
          assert.equal(info.helloRetry === true, k.groups !== undefined, "helloRetry");
          client.sock.write("keylog\n");
          await client.receive(`${reverseLine("keylog")}\n`);
          client.sock.end();
          await client.waitClosed();
          assert.equal((await proc.waitExit(STEP)).code, 0);
          assertOurLines13(client.keylog, k.hashLen);
          assert.deepEqual(sorted(keylogLines(file, KEYLOG_LABELS_13)), sorted(client.keylog));
        });
      } finally {
        client.sock.destroy();
        await proc.kill();
      }
    });

    test(`our server vs s_client -tls1_3 -keylogfile, ${k.label}`, { timeout: CELL_TIMEOUT }, async (t) => {
      if (!requirePeer(t, "openssl")) return;
      const p = await pki();
      const chain = p.rsa;
      const file = tempFile("s_client13.keylog");
      const server = await ourServer({
        cert: chain.chainPem,
        key: chain.leaf.keyPem,
        ...(k.groups ? { groups: [k.groups] } : {}),
      });
      server.onConnection = (o) => lineEcho(o, true);
      const proc = spawnPeer("openssl", [
        "s_client",
        "-connect",
        `127.0.0.1:${server.port}`,
        "-servername",
        "localhost",
        "-CAfile",
        chain.files.root,
        "-verify_return_error",
        "-nocommands",
        "-tls1_3",
        "-ciphersuites",
        k.suite.iana,
        "-keylogfile",
        file,
      ]);
      proc.write("keylog\n");
      try {
        await cell([server, proc], async () => {
          const conn = await server.secured();
          assert.equal(conn.info?.helloRetry === true, k.groups !== undefined, "helloRetry");
          assert.equal((await proc.waitExit(STEP)).code, 0);
          await conn.waitClosed();
          assertOurLines13(conn.keylog, k.hashLen);
          assert.deepEqual(sorted(keylogLines(file, KEYLOG_LABELS_13)), sorted(conn.keylog));
        });
      } finally {
        await proc.kill();
        await server.close();
      }
    });
  }

  test("our server vs gnutls-cli (TLS 1.3) with SSLKEYLOGFILE", { timeout: CELL_TIMEOUT }, async (t) => {
    if (!requirePeer(t, "gnutls-cli")) return;
    const p = await pki();
    const file = tempFile("gnutls13.keylog");
    const server = await ourServer({ cert: p.p256.chainPem, key: p.p256.leaf.keyPem });
    server.onConnection = (o) => lineEcho(o, false);
    const proc = spawnPeer("env", [
      `SSLKEYLOGFILE=${file}`,
      "gnutls-cli",
      "--x509cafile",
      p.p256.files.root,
      "--priority",
      "NORMAL:-VERS-ALL:+VERS-TLS1.3",
      "--sni-hostname",
      "localhost",
      "-p",
      String(server.port),
      "127.0.0.1",
    ]);
    proc.write("keylog\n");
    try {
      await cell([server, proc], async () => {
        const conn = await server.secured();
        await proc.waitFor("echo:keylog\n", STEP);
        proc.endInput();
        assert.equal((await proc.waitExit(STEP)).code, 0);
        await conn.waitClosed();
        assertOurLines13(conn.keylog, 32);
        assert.deepEqual(sorted(keylogLines(file, KEYLOG_LABELS_13)), sorted(conn.keylog));
      });
    } finally {
      await proc.kill();
      await server.close();
    }
  });
});

describe("exportKeyingMaterial TLS 1.3 (RFC 8446 §7.5) equals node:tls on the other side", {
  concurrency: 4,
}, () => {
  /** In TLS 1.3 an absent context and an empty one are the same (the exporter hashes ""). */
  function ekmCompare13(
    ours: { exportKeyingMaterial: (n: number, l: string, c?: Uint8Array) => Uint8Array },
    theirs: tls.TLSSocket,
    log: Log,
  ): void {
    ekmCompare(ours, theirs, log);
    assert.equal(
      hex(ours.exportKeyingMaterial(32, LABEL, new Uint8Array(0))),
      hex(ours.exportKeyingMaterial(32, LABEL)),
      "no context = empty context in TLS 1.3",
    );
    assert.notEqual(
      hex(ours.exportKeyingMaterial(32, LABEL, new Uint8Array([0]))),
      hex(ours.exportKeyingMaterial(32, LABEL)),
      "a context changes the output",
    );
  }

  for (const s of TLS13_SUITES) {
    test(`our client, node server, ${s.iana}`, { timeout: CELL_TIMEOUT }, async () => {
      const p = await pki();
      const log = new Log("exporter");
      let nodeSock: tls.TLSSocket | undefined;
      const server = tls.createServer(
        {
          cert: p.p256.chainPem,
          key: p.p256.leaf.keyPem,
          minVersion: "TLSv1.3",
          maxVersion: "TLSv1.3",
          ciphers: s.iana,
        },
        (sock) => {
          nodeSock = sock;
          sock.on("data", () => sock.write("ok\n"));
          sock.on("error", (e) => log.lines.push(`node error ${e.message}`));
        },
      );
      await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
      const client = ourClient({
        port: (server.address() as AddressInfo).port,
        servername: "localhost",
        ca: p.p256.root.certPem,
      });
      try {
        await cell([client, log], async () => {
          await client.secure();
          client.sock.write("go\n");
          await client.receive("ok\n");
          assert.ok(nodeSock);
          assert.equal(client.sock.getProtocol(), "TLSv1.3");
          assert.equal(client.sock.getCipher()?.name, s.iana);
          ekmCompare13(client.sock, nodeSock, log);
          client.sock.end();
          await client.waitClosed();
          client.assertCleanClose();
        });
      } finally {
        client.sock.destroy();
        await new Promise((r) => server.close(r));
      }
    });

    test(`our server, node client, ${s.iana}`, { timeout: CELL_TIMEOUT }, async () => {
      const p = await pki();
      const log = new Log("exporter");
      const server = await ourServer({ cert: p.rsa.chainPem, key: p.rsa.leaf.keyPem });
      server.onConnection = (o) => lineEcho(o, false);
      const sock = tls.connect({
        host: "127.0.0.1",
        port: server.port,
        servername: "localhost",
        ca: p.rsa.root.certPem,
        minVersion: "TLSv1.3",
        maxVersion: "TLSv1.3",
        ciphers: s.iana,
      });
      sock.on("error", (e) => log.lines.push(`node error ${e.message}`));
      let got = "";
      sock.on("data", (d: Buffer) => {
        got += d.toString("utf8");
      });
      sock.write("go\n");
      try {
        await cell([server, log], async () => {
          const conn = await server.secured();
          await within(
            STEP,
            "node receives our answer",
            new Promise<void>((resolve) => {
              const check = (): void => {
                if (got.includes("echo:go\n")) resolve();
                else sock.once("data", check);
              };
              check();
            }),
          );
          assert.equal(conn.sock.getProtocol(), "TLSv1.3");
          assert.equal(conn.sock.getCipher()?.name, s.iana);
          ekmCompare13(conn.sock, sock, log);
          sock.end();
          await conn.waitClosed();
          conn.assertCleanClose();
        });
      } finally {
        sock.destroy();
        await server.close();
      }
    });
  }
});
