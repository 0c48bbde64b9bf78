/**
 * TypeTLS client against `openssl s_server -rev` (echoes each line reversed): real handshake,
 * data both ways, close_notify both ways, and what s_server reports about the connection.
 */
import assert from "node:assert/strict";
import { after, describe, type TestContext, test } from "node:test";
import type { ConnectOptions } from "../../src/index.js";
import type { Chain } from "../fixtures/pki.js";
import { makeChain } from "../fixtures/pki.js";
import {
  CELL_TIMEOUT,
  cell,
  chainFor,
  ECDHE_SUITES,
  GROUPS,
  groupName,
  type Observer,
  ourClient,
  pki,
  RSA_KX_SUITES,
  reverseLine,
  SIGALGS,
  STEP,
  writeBeside,
} from "./harness.js";
import { killAllPeers, PROBE_CONNECTIONS, requirePeer, startServerPeer } from "./peers.js";

after(killAllPeers);

interface SServerCell {
  /** The server's certificate chain (default: the standard P-256 one). */
  chain?: Chain;
  /** More s_server arguments. */
  args?: string[];
  /** Our client's options (port, host and ca are filled in). */
  client?: Partial<ConnectOptions>;
  /** Our client's trust anchors (default: the server chain's root). */
  ca?: string;
  /** Expected: OpenSSL suite name, group name, ALPN, the server leaf subject's CN. */
  cipher: string;
  group?: string;
  alpn?: string | false;
  serverCN?: string;
  /** Text that s_server's output must contain, and must not. */
  serverSays?: string[];
  serverNeverSays?: string[];
}

/** Our client to s_server: handshake, a line each way, our close_notify and s_server's answer. */
async function sServerCell(t: TestContext, c: SServerCell): Promise<Observer | undefined> {
  if (!requirePeer(t, "openssl")) return undefined;
  const p = await pki();
  const chain = c.chain ?? p.p256;
  const { proc, port } = await startServerPeer("openssl", (port) => [
    "s_server",
    "-accept",
    `127.0.0.1:${port}`,
    "-tls1_2",
    "-rev",
    // exits (and flushes its stdout) after the probe and our connection
    "-naccept",
    String(1 + PROBE_CONNECTIONS),
    "-cert",
    chain.files.leaf,
    "-cert_chain",
    chain.files.intermediate,
    "-key",
    chain.files.leafKey,
    ...(c.args ?? []),
  ]);
  const client = ourClient({ port, servername: "localhost", ca: c.ca ?? chain.root.certPem, ...c.client });
  try {
    await cell([client, proc], async () => {
      const info = await client.secure();
      const line = `hello from typetls ${c.cipher}`;
      client.sock.write(`${line}\n`);
      await client.receive(`${reverseLine(line)}\n`);
      client.sock.end();
      await client.waitClosed();
      const st = await proc.waitExit(STEP);
      assert.equal(st.code, 0, "s_server exits 0");

      assert.equal(info.protocol, "TLSv1.2");
      assert.equal(client.sock.getProtocol(), "TLSv1.2");
      assert.equal(client.sock.getCipher()?.name, c.cipher);
      if (c.group) assert.equal(info.group === undefined ? "none" : groupName(info.group), c.group);
      if (c.alpn !== undefined) assert.equal(client.sock.alpnProtocol, c.alpn);
      if (c.serverCN)
        assert.equal(info.peerCertificates[0]?.subject.toString(), `CN=${c.serverCN}, O=TypeTLS Test`);
      assert.equal(info.peerVerified, true);
      assert.equal(info.extendedMasterSecret, true);
      assert.equal(client.data, `${reverseLine(line)}\n`);
      client.assertCleanClose();
      // s_server's own view of the connection
      assert.match(proc.output, /CONNECTION ESTABLISHED\nProtocol version: TLSv1\.2\n/);
      assert.match(proc.output, new RegExp(`\\nCiphersuite: ${c.cipher}\\n`));
      for (const s of c.serverSays ?? []) assert.ok(proc.output.includes(s), `s_server should print ${s}`);
      for (const s of c.serverNeverSays ?? [])
        assert.ok(!proc.output.includes(s), `s_server must not print ${s}`);
    });
  } finally {
    client.sock.destroy();
    await proc.kill();
  }
  return client;
}

describe("TypeTLS client vs openssl s_server", { concurrency: 4 }, () => {
  for (const s of [...ECDHE_SUITES, ...RSA_KX_SUITES]) {
    test(`suite ${s.iana}`, { timeout: CELL_TIMEOUT }, async (t) => {
      const p = await pki();
      await sServerCell(t, {
        chain: chainFor(p, s),
        client: {
          cipherSuites: [s.iana],
          ...(s.auth === "RSA-KX" ? { enableLegacyRsaKeyExchange: true } : {}),
        },
        cipher: s.openssl,
      });
    });
  }

  for (const g of GROUPS) {
    for (const kind of ["p256", "rsa"] as const) {
      test(`group ${g.name} (s_server -curves ${g.openssl}), ${kind} certificate`, {
        timeout: CELL_TIMEOUT,
      }, async (t) => {
        const p = await pki();
        await sServerCell(t, {
          chain: p[kind],
          args: ["-curves", g.openssl],
          cipher: kind === "p256" ? "ECDHE-ECDSA-AES128-GCM-SHA256" : "ECDHE-RSA-AES128-GCM-SHA256",
          group: g.name,
        });
      });
    }
  }

  test("ECDSA P-384 certificate", { timeout: CELL_TIMEOUT }, async (t) => {
    const p = await pki();
    await sServerCell(t, {
      chain: p.p384,
      client: { cipherSuites: ["TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"] },
      cipher: "ECDHE-ECDSA-AES256-GCM-SHA384",
      serverCN: "localhost",
    });
  });

  test("Ed25519 certificate", { timeout: CELL_TIMEOUT }, async (t) => {
    const p = await pki();
    const c = await sServerCell(t, {
      chain: p.ed25519,
      cipher: "ECDHE-ECDSA-AES128-GCM-SHA256",
      serverCN: "localhost",
    });
    if (c) assert.equal(c.info?.peerSignatureScheme, 0x0807, "signed with ed25519");
  });

  for (const sa of SIGALGS) {
    test(`signature algorithm ${sa.openssl} (s_server -sigalgs), ${sa.cert} certificate`, {
      timeout: CELL_TIMEOUT,
    }, async (t) => {
      const p = await pki();
      const c = await sServerCell(t, {
        chain: p[sa.cert],
        args: ["-sigalgs", sa.openssl],
        cipher: sa.cert === "rsa" ? "ECDHE-RSA-AES128-GCM-SHA256" : "ECDHE-ECDSA-AES128-GCM-SHA256",
      });
      if (c) assert.equal(c.info?.peerSignatureScheme, sa.scheme);
    });
  }

  test("ALPN h2 negotiated", { timeout: CELL_TIMEOUT }, async (t) => {
    await sServerCell(t, {
      args: ["-alpn", "h2,http/1.1"],
      client: { alpnProtocols: ["h2", "http/1.1"] },
      cipher: "ECDHE-ECDSA-AES128-GCM-SHA256",
      alpn: "h2",
      serverSays: ["ALPN protocols selected: h2"],
    });
  });

  test("ALPN http/1.1 negotiated", { timeout: CELL_TIMEOUT }, async (t) => {
    await sServerCell(t, {
      args: ["-alpn", "h2,http/1.1"],
      client: { alpnProtocols: ["http/1.1"] },
      cipher: "ECDHE-ECDSA-AES128-GCM-SHA256",
      alpn: "http/1.1",
      serverSays: ["ALPN protocols selected: http/1.1"],
    });
  });

  test("SNI: s_server sees our server name and switches to the matching certificate", {
    timeout: CELL_TIMEOUT,
  }, async (t) => {
    if (!requirePeer(t, "openssl")) return;
    const p = await pki();
    const other = await makeChain({ key: "p256", hosts: ["other.test"], ips: [] });
    // -cert2 has no chain option: s_server builds its chain from the -CAfile store.
    const caFile = writeBeside(other, "chain-store.pem", other.intermediate.certPem + other.root.certPem);
    const both = p.p256.root.certPem + other.root.certPem;
    const sni = [
      "-servername",
      "other.test",
      "-cert2",
      other.files.leaf,
      "-key2",
      other.files.leafKey,
      "-CAfile",
      caFile,
    ];
    await sServerCell(t, {
      args: sni,
      ca: both,
      client: { servername: "other.test" },
      cipher: "ECDHE-ECDSA-AES128-GCM-SHA256",
      serverCN: "other.test",
      serverSays: ['Hostname in TLS extension: "other.test"', "Switching server context."],
    });
    await sServerCell(t, {
      args: sni,
      ca: both,
      client: { servername: "localhost" },
      cipher: "ECDHE-ECDSA-AES128-GCM-SHA256",
      serverCN: "localhost",
      serverSays: ['Hostname in TLS extension: "localhost"'],
    });
  });

  test("IP literal: no SNI is sent, the certificate's IP SAN is checked", {
    timeout: CELL_TIMEOUT,
  }, async (t) => {
    const p = await pki();
    // s_server's -servername (which needs a -cert2) makes it print any SNI it gets ("Hostname in TLS extension")
    const c = await sServerCell(t, {
      args: ["-servername", "localhost", "-cert2", p.p256.files.leaf, "-key2", p.p256.files.leafKey],
      client: { servername: "127.0.0.1" },
      cipher: "ECDHE-ECDSA-AES128-GCM-SHA256",
      serverNeverSays: ["Hostname in TLS extension"],
    });
    if (c) assert.equal(c.info?.peerVerified, true);
  });

  for (const mode of ["-verify", "-Verify"] as const) {
    for (const kind of ["client", "clientRsa"] as const) {
      test(`client certificate (${kind}) to s_server ${mode} 1`, { timeout: CELL_TIMEOUT }, async (t) => {
        const p = await pki();
        const cc = p[kind];
        const c = await sServerCell(t, {
          args: [mode, "1", "-CAfile", cc.files.root, "-verify_return_error"],
          client: { cert: cc.chainPem, key: cc.leaf.keyPem },
          cipher: "ECDHE-ECDSA-AES128-GCM-SHA256",
          serverSays: [
            `Peer certificate: CN = ${kind === "client" ? "typetls client" : "typetls client rsa"}, O = TypeTLS Test`,
            "Verification: OK",
          ],
        });
        if (c) assert.equal(c.info?.clientCertificateRequested, true);
      });
    }
  }

  test("no client certificate, s_server -verify 1 (requested): handshake completes", {
    timeout: CELL_TIMEOUT,
  }, async (t) => {
    const p = await pki();
    const c = await sServerCell(t, {
      args: ["-verify", "1", "-CAfile", p.client.files.root, "-verify_return_error"],
      cipher: "ECDHE-ECDSA-AES128-GCM-SHA256",
      serverSays: ["No peer certificate"],
    });
    if (c) assert.equal(c.info?.clientCertificateRequested, true);
  });

  test("no client certificate, s_server -Verify 1 (required): s_server sends handshake_failure", {
    timeout: CELL_TIMEOUT,
  }, async (t) => {
    if (!requirePeer(t, "openssl")) return;
    const p = await pki();
    const chain = p.p256;
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
      "-Verify",
      "1",
      "-CAfile",
      p.client.files.root,
      "-verify_return_error",
    ]);
    const client = ourClient({ port, servername: "localhost", ca: chain.root.certPem });
    try {
      await cell([client, proc], async () => {
        await client.waitClosed();
        await proc.waitExit(STEP);
        assert.match(proc.output, /peer did not return a certificate/);
        assert.equal(client.info, null, "no handshake");
        const e = client.firstError;
        assert.equal(e?.alertName, "handshake_failure");
        assert.equal(e?.sentBy, "peer");
        assert.equal(e?.code, "ERR_TLS_PEER_ALERT_HANDSHAKE_FAILURE");
      });
    } finally {
      client.sock.destroy();
      await proc.kill();
    }
  });

  test("s_server offering TLS 1.3 too: we negotiate TLS 1.2", { timeout: CELL_TIMEOUT }, async (t) => {
    if (!requirePeer(t, "openssl")) return;
    const p = await pki();
    const chain = p.p256;
    const { proc, port } = await startServerPeer("openssl", (port) => [
      "s_server",
      "-accept",
      `127.0.0.1:${port}`,
      "-rev",
      "-naccept",
      String(1 + PROBE_CONNECTIONS),
      "-cert",
      chain.files.leaf,
      "-cert_chain",
      chain.files.intermediate,
      "-key",
      chain.files.leafKey,
    ]);
    const client = ourClient({ port, servername: "localhost", ca: chain.root.certPem });
    try {
      await cell([client, proc], async () => {
        const info = await client.secure();
        client.sock.write("abc\n");
        await client.receive("cba\n");
        client.sock.end();
        await client.waitClosed();
        const st = await proc.waitExit(STEP);
        assert.equal(st.code, 0, "s_server exits 0");
        assert.equal(info.protocol, "TLSv1.2");
        assert.match(proc.output, /Protocol version: TLSv1\.2\n/);
        client.assertCleanClose();
      });
    } finally {
      client.sock.destroy();
      await proc.kill();
    }
  });
});

describe("renegotiation", () => {
  test("s_server asks to renegotiate (HelloRequest): our client answers no_renegotiation", {
    timeout: CELL_TIMEOUT,
  }, async (t) => {
    // RFC 5246 §7.2.2 / §7.4.1.1: a client that does not renegotiate may answer a HelloRequest with
    // a no_renegotiation warning; the server then decides (OpenSSL gives up with handshake_failure).
    if (!requirePeer(t, "openssl")) return;
    const p = await pki();
    const chain = p.p256;
    // stdin-driven s_server: prints what it receives, sends what it reads; "R" renegotiates
    const { proc, port } = await startServerPeer("openssl", (port) => [
      "s_server",
      "-accept",
      `127.0.0.1:${port}`,
      "-tls1_2",
      "-cert",
      chain.files.leaf,
      "-cert_chain",
      chain.files.intermediate,
      "-key",
      chain.files.leafKey,
    ]);
    const client = ourClient({ port, servername: "localhost", ca: chain.root.certPem });
    try {
      await cell([client, proc], async () => {
        await client.secure();
        client.sock.write("before\n");
        await proc.waitFor("before\n", STEP);
        proc.write("R\n");
        await client.waitClosed();
        await proc.waitFor("no renegotiation", STEP);
        const sent = client.alerts.filter((a) => a.sentBy === "local").map((a) => `${a.name}/${a.level}`);
        assert.deepEqual(sent, ["no_renegotiation/1"], "one warning alert from us, nothing fatal");
        assert.equal(client.firstError?.alertName, "handshake_failure");
        assert.equal(client.firstError?.sentBy, "peer");
      });
    } finally {
      client.sock.destroy();
      await proc.kill();
    }
  });
});
