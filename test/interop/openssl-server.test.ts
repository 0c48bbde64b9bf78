/**
 * TypeTLS client against `openssl s_server -rev` (echoes each line reversed): real handshake,
 * data both ways, close_notify both ways, and what s_server reports about the connection. The TLS
 * 1.2 matrix runs s_server -tls1_2; the TLS 1.3 cells -tls1_3 (a few use s_server's interactive
 * mode: k/K commands, -stateless).
 */
import assert from "node:assert/strict";
import { after, describe, type TestContext, test } from "node:test";
import type { ConnectOptions } from "../../src/index.js";
import type { Chain } from "../fixtures/pki.js";
import { makeChain } from "../fixtures/pki.js";
import {
  CELL_TIMEOUT,
  CERT_KINDS_13,
  cell,
  chainFor,
  ECDHE_SUITES,
  extraPki,
  GROUPS,
  groupName,
  type Observer,
  ourClient,
  pki,
  RSA_KX_SUITES,
  reverseLine,
  SIGALGS,
  STEP,
  TLS13_SUITES,
  type Version,
  writeBeside,
} from "./harness.js";
import { killAllPeers, PROBE_CONNECTIONS, requirePeer, startServerPeer } from "./peers.js";

after(killAllPeers);

function hex(b: Uint8Array): string {
  return Buffer.from(b).toString("hex");
}

/** What s_server is pinned to: -tls1_2 (the TLS 1.2 matrix), -tls1_3, or nothing (it offers both). */
type PeerVersion = "1.2" | "1.3" | "any";

const VERSION_FLAG: Record<PeerVersion, string[]> = { "1.2": ["-tls1_2"], "1.3": ["-tls1_3"], any: [] };

/** s_server arguments: `-rev` echo (unless `interactive`), exits after the probe and one connection. */
function sServerArgs(
  port: number,
  chain: Chain,
  version: PeerVersion,
  extra: readonly string[],
  opts: { interactive?: boolean } = {},
): string[] {
  return [
    "s_server",
    "-accept",
    `127.0.0.1:${port}`,
    ...VERSION_FLAG[version],
    ...(opts.interactive ? [] : ["-rev", "-naccept", String(1 + PROBE_CONNECTIONS)]),
    "-cert",
    chain.files.leaf,
    "-cert_chain",
    chain.files.intermediate,
    "-key",
    chain.files.leafKey,
    ...extra,
  ];
}

interface SServerCell {
  /** The server's certificate chain (default: the standard P-256 one). */
  chain?: Chain;
  /** s_server's version pin (default "1.2": the TLS 1.2 matrix). */
  version?: PeerVersion;
  /** More s_server arguments. */
  args?: string[];
  /** Our client's options (port, host and ca are filled in). */
  client?: Partial<ConnectOptions>;
  /** Our client's trust anchors (default: the server chain's root). */
  ca?: string;
  /** Expected protocol (default: TLSv1.2 when either side is pinned to 1.2, else TLSv1.3). */
  protocol?: Version;
  /** Expected: OpenSSL suite name, group name, ALPN, the server leaf subject's CN. */
  cipher: string;
  group?: string;
  /** TLS 1.3: whether s_server had to send a HelloRetryRequest. */
  helloRetry?: boolean;
  alpn?: string | false;
  serverCN?: string;
  /** Text that s_server's output must contain, and must not. */
  serverSays?: string[];
  serverNeverSays?: string[];
  /** Runs after the first line was echoed, before the second one and the close (KeyUpdate cells). */
  midway?: (client: Observer) => Promise<void>;
}

/** Our client to s_server: handshake, lines each way, our close_notify and s_server's answer. */
async function sServerCell(t: TestContext, c: SServerCell): Promise<Observer | undefined> {
  if (!requirePeer(t, "openssl")) return undefined;
  const p = await pki();
  const chain = c.chain ?? p.p256;
  const version = c.version ?? "1.2";
  const expected: Version =
    c.protocol ?? (version === "1.2" || c.client?.maxVersion === "TLSv1.2" ? "TLSv1.2" : "TLSv1.3");
  const { proc, port } = await startServerPeer("openssl", (port) =>
    sServerArgs(port, chain, version, c.args ?? []),
  );
  const client = ourClient({ port, servername: "localhost", ca: c.ca ?? chain.root.certPem, ...c.client });
  try {
    await cell([client, proc], async () => {
      const info = await client.secure();
      const line = `hello from typetls ${c.cipher}`;
      client.sock.write(`${line}\n`);
      await client.receive(`${reverseLine(line)}\n`);
      let expectData = `${reverseLine(line)}\n`;
      if (c.midway) {
        await c.midway(client);
        const line2 = `after the midway step ${c.cipher}`;
        client.sock.write(`${line2}\n`);
        expectData += `${reverseLine(line2)}\n`;
        await client.receive(expectData);
      }
      client.sock.end();
      await client.waitClosed();
      const st = await proc.waitExit(STEP);
      assert.equal(st.code, 0, "s_server exits 0");

      assert.equal(info.protocol, expected);
      assert.equal(client.sock.getProtocol(), expected);
      assert.equal(client.sock.getCipher()?.name, c.cipher);
      if (c.group) assert.equal(info.group === undefined ? "none" : groupName(info.group), c.group);
      if (c.helloRetry !== undefined) {
        assert.equal(info.helloRetry === true, c.helloRetry, "helloRetry");
        assert.equal(client.traced("recv", "HelloRetryRequest"), c.helloRetry ? 1 : 0);
        assert.equal(client.traced("send", "ClientHello"), c.helloRetry ? 2 : 1);
      }
      if (c.alpn !== undefined) assert.equal(client.sock.alpnProtocol, c.alpn);
      if (c.serverCN)
        assert.equal(info.peerCertificates[0]?.subject.toString(), `CN=${c.serverCN}, O=TypeTLS Test`);
      assert.equal(info.peerVerified, true);
      assert.equal(info.extendedMasterSecret, true);
      assert.equal(client.data, expectData);
      client.assertCleanClose();
      // s_server's own view of the connection
      assert.match(
        proc.output,
        new RegExp(`CONNECTION ESTABLISHED\\nProtocol version: ${expected.replace(".", "\\.")}\\n`),
      );
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

/** Our client to s_server, expected to fail: `check` gets our observer and s_server's output. */
async function sServerFailCell(
  t: TestContext,
  c: { chain?: Chain; version: PeerVersion; args?: string[]; client?: Partial<ConnectOptions> },
  check: (client: Observer, out: string) => void,
): Promise<void> {
  if (!requirePeer(t, "openssl")) return;
  const p = await pki();
  const chain = c.chain ?? p.p256;
  const { proc, port } = await startServerPeer("openssl", (port) =>
    sServerArgs(port, chain, c.version, c.args ?? []),
  );
  const client = ourClient({ port, servername: "localhost", ca: chain.root.certPem, ...c.client });
  try {
    await cell([client, proc], async () => {
      await client.waitClosed();
      await proc.waitExit(STEP);
      assert.ok(client.errors.length > 0, "our client reports an error");
      assert.equal(client.data, "", "no application data");
      check(client, proc.output);
    });
  } finally {
    client.sock.destroy();
    await proc.kill();
  }
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
    const p = await pki();
    await sServerFailCell(
      t,
      { version: "1.2", args: ["-Verify", "1", "-CAfile", p.client.files.root, "-verify_return_error"] },
      (client, out) => {
        assert.match(out, /peer did not return a certificate/);
        assert.equal(client.info, null, "no handshake");
        const e = client.firstError;
        assert.equal(e?.alertName, "handshake_failure");
        assert.equal(e?.sentBy, "peer");
        assert.equal(e?.code, "ERR_TLS_PEER_ALERT_HANDSHAKE_FAILURE");
      },
    );
  });

  test("s_server offering TLS 1.2 and 1.3, our client default: TLSv1.3 negotiated", {
    timeout: CELL_TIMEOUT,
  }, async (t) => {
    await sServerCell(t, {
      version: "any",
      cipher: "TLS_AES_128_GCM_SHA256",
      group: "X25519",
      helloRetry: false,
    });
  });

  test("s_server offering TLS 1.2 and 1.3, our client maxVersion TLSv1.2: TLSv1.2, no downgrade alarm", {
    timeout: CELL_TIMEOUT,
  }, async (t) => {
    // s_server puts the RFC 8446 §4.1.3 sentinel in its random; a client that offered only 1.2 must
    // not treat it as an attack.
    const c = await sServerCell(t, {
      version: "any",
      client: { maxVersion: "TLSv1.2" },
      cipher: "ECDHE-ECDSA-AES128-GCM-SHA256",
    });
    if (c) {
      assert.equal(c.alerts.filter((a) => a.name !== "close_notify").length, 0, "no alert but close_notify");
      assert.equal(
        hex(c.info!.serverRandom.subarray(24)),
        "444f574e47524401",
        "s_server's random says DOWNGRD\\x01",
      );
    }
  });

  test("s_server -tls1_2 (a real 1.2-only server, no sentinel), our client default (max 1.3): TLSv1.2", {
    timeout: CELL_TIMEOUT,
  }, async (t) => {
    const c = await sServerCell(t, { version: "1.2", cipher: "ECDHE-ECDSA-AES128-GCM-SHA256" });
    if (c)
      assert.notEqual(hex(c.info!.serverRandom.subarray(24, 31)), "444f574e475244", "no DOWNGRD sentinel");
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

// ---- TLS 1.3 --------------------------------------------------------------------------------------

describe("TypeTLS client vs openssl s_server -tls1_3", { concurrency: 4 }, () => {
  for (const s of TLS13_SUITES) {
    test(`suite ${s.iana} (s_server -ciphersuites)`, { timeout: CELL_TIMEOUT }, async (t) => {
      await sServerCell(t, {
        version: "1.3",
        args: ["-ciphersuites", s.iana],
        cipher: s.iana,
        group: "X25519",
        helloRetry: false,
      });
    });
    test(`suite ${s.iana} (our cipherSuites), RSA certificate`, { timeout: CELL_TIMEOUT }, async (t) => {
      const p = await pki();
      await sServerCell(t, {
        version: "1.3",
        chain: p.rsa,
        client: { cipherSuites: [s.iana] },
        cipher: s.iana,
      });
    });
  }

  for (const g of GROUPS) {
    // Our default key shares are X25519MLKEM768 and X25519; OpenSSL 3.0 has no ML-KEM, so X25519
    // needs no retry and the others need a HelloRetryRequest.
    const hrr = g.name !== "X25519";
    test(`group ${g.name} (s_server -groups ${g.openssl}): ${hrr ? "HelloRetryRequest" : "no HelloRetryRequest"}`, {
      timeout: CELL_TIMEOUT,
    }, async (t) => {
      await sServerCell(t, {
        version: "1.3",
        args: ["-groups", g.openssl],
        cipher: "TLS_AES_128_GCM_SHA256",
        group: g.name,
        helloRetry: hrr,
      });
    });
    test(`group ${g.name} (our groups [${g.name}]): its key share, no HelloRetryRequest`, {
      timeout: CELL_TIMEOUT,
    }, async (t) => {
      await sServerCell(t, {
        version: "1.3",
        client: { groups: [g.name] },
        cipher: "TLS_AES_128_GCM_SHA256",
        group: g.name,
        helloRetry: false,
      });
    });
  }

  test("our client keyShareGroups [X25519], groups [X25519, P-384] vs s_server -groups P-384: HelloRetryRequest", {
    timeout: CELL_TIMEOUT,
  }, async (t) => {
    const c = await sServerCell(t, {
      version: "1.3",
      args: ["-groups", "P-384"],
      client: { keyShareGroups: ["X25519"], groups: ["X25519", "P-384"] },
      cipher: "TLS_AES_128_GCM_SHA256",
      group: "P-384",
      helloRetry: true,
    });
    if (c) {
      const hrr = c.traces.find((x) => x.message === "HelloRetryRequest");
      assert.ok(hrr, "HelloRetryRequest traced");
      // RFC 8446 §D.4: our compatibility CCS goes before the second flight (our Finished), not before
      // the second ClientHello; both are allowed.
      assert.deepEqual(c.flow.slice(0, 4), [
        "send ClientHello",
        "recv HelloRetryRequest",
        "send ClientHello",
        "recv ServerHello",
      ]);
      assert.equal(c.traced("send", "ChangeCipherSpec"), 1, "one compatibility CCS");
    }
  });

  // s_server -stateless always sends a HelloRetryRequest with a cookie. A cookie-only one (no
  // key_share): the second ClientHello keeps the same shares, and the ServerHello may answer any of
  // them (RFC 8446 §4.1.2, §4.1.4). With our default shares (X25519MLKEM768, X25519) OpenSSL picks
  // the second one.
  for (const c of [
    { label: "default key shares (X25519MLKEM768, X25519)", client: {}, args: [], group: "X25519" },
    { label: "keyShareGroups [X25519]", client: { keyShareGroups: ["X25519"] }, args: [], group: "X25519" },
    // here the HRR names a group too (cookie + key_share)
    { label: "-groups P-256: cookie and key_share", client: {}, args: ["-groups", "P-256"], group: "P-256" },
  ]) {
    test(`s_server -stateless: a HelloRetryRequest with a cookie, which we echo; ${c.label}`, {
      timeout: CELL_TIMEOUT,
    }, async (t) => {
      // -stateless works in s_server's interactive mode only (-rev skips it)
      if (!requirePeer(t, "openssl")) return;
      const p = await pki();
      const chain = p.p256;
      const { proc, port } = await startServerPeer("openssl", (port) =>
        sServerArgs(port, chain, "1.3", ["-stateless", ...c.args], { interactive: true }),
      );
      const client = ourClient({ port, servername: "localhost", ca: chain.root.certPem, ...c.client });
      try {
        await cell([client, proc], async () => {
          const info = await client.secure();
          assert.equal(info.helloRetry, true, "helloRetry");
          assert.equal(info.group === undefined ? "none" : groupName(info.group), c.group);
          // (the trace does not show the cookie; OpenSSL -stateless completes only if we echoed it)
          assert.equal(client.traced("recv", "HelloRetryRequest"), 1);
          assert.equal(client.traced("send", "ClientHello"), 2);
          client.sock.write("stateless\n");
          await proc.waitFor("stateless\n", STEP);
          proc.write("answer\n");
          await client.receive("answer\n");
          client.sock.end();
          await client.waitClosed();
          assert.deepEqual(
            client.errors.map((e) => e.message),
            [],
          );
        });
      } finally {
        client.sock.destroy();
        await proc.kill();
      }
    });
  }

  test("s_server insists on a group we lack (-groups ffdhe2048): handshake_failure, no hang", {
    timeout: CELL_TIMEOUT,
  }, async (t) => {
    await sServerFailCell(t, { version: "1.3", args: ["-groups", "ffdhe2048"] }, (client, out) => {
      assert.equal(client.info, null);
      const e = client.firstError;
      assert.equal(e?.alertName, "handshake_failure", e?.message);
      assert.equal(e?.sentBy, "peer");
      assert.match(out, /no suitable key share|no shared groups|handshake failure/);
    });
  });

  for (const k of CERT_KINDS_13) {
    test(`${k.kind} certificate: s_server signs with ${k.schemeName}`, {
      timeout: CELL_TIMEOUT,
    }, async (t) => {
      const p = await pki();
      const c = await sServerCell(t, {
        version: "1.3",
        chain: p[k.kind],
        cipher: "TLS_AES_128_GCM_SHA256",
        serverCN: "localhost",
      });
      if (c) assert.equal(c.info?.peerSignatureScheme, k.scheme);
    });
  }

  test("RSA-PSS (id-RSASSA-PSS) certificate: s_server signs with rsa_pss_pss_sha256", {
    timeout: CELL_TIMEOUT,
  }, async (t) => {
    const x = await extraPki();
    const c = await sServerCell(t, {
      version: "1.3",
      chain: x.rsaPss,
      cipher: "TLS_AES_128_GCM_SHA256",
      serverCN: "localhost",
    });
    if (c) assert.equal(c.info?.peerSignatureScheme, 0x0809);
  });

  test("Ed25519 client certificate to s_server -Verify 1: we sign with ed25519", {
    timeout: CELL_TIMEOUT,
  }, async (t) => {
    const x = await extraPki();
    const cc = x.clientEd25519;
    const c = await sServerCell(t, {
      version: "1.3",
      args: ["-Verify", "1", "-CAfile", cc.files.root, "-verify_return_error"],
      client: { cert: cc.chainPem, key: cc.leaf.keyPem },
      cipher: "TLS_AES_128_GCM_SHA256",
      serverSays: ["Peer certificate: CN = typetls client ed25519, O = TypeTLS Test", "Verification: OK"],
    });
    if (c) assert.equal(c.info?.signatureScheme, 0x0807);
  });

  test("middleboxCompatibility: false: no legacy session id, no ChangeCipherSpec from us", {
    timeout: CELL_TIMEOUT,
  }, async (t) => {
    const c = await sServerCell(t, {
      version: "1.3",
      client: { middleboxCompatibility: false },
      cipher: "TLS_AES_128_GCM_SHA256",
    });
    if (c) assert.equal(c.traced("send", "ChangeCipherSpec"), 0);
  });

  test("ALPN h2 and http/1.1 negotiated", { timeout: CELL_TIMEOUT }, async (t) => {
    for (const proto of ["h2", "http/1.1"]) {
      await sServerCell(t, {
        version: "1.3",
        args: ["-alpn", "h2,http/1.1"],
        client: { alpnProtocols: [proto] },
        cipher: "TLS_AES_128_GCM_SHA256",
        alpn: proto,
        serverSays: [`ALPN protocols selected: ${proto}`],
      });
    }
  });

  test("SNI: s_server sees our server name and switches to the matching certificate", {
    timeout: CELL_TIMEOUT,
  }, async (t) => {
    if (!requirePeer(t, "openssl")) return;
    const p = await pki();
    const other = await makeChain({ key: "p256", hosts: ["other.test"], ips: [] });
    const caFile = writeBeside(other, "chain-store.pem", other.intermediate.certPem + other.root.certPem);
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
    for (const name of ["other.test", "localhost"]) {
      await sServerCell(t, {
        version: "1.3",
        args: sni,
        ca: p.p256.root.certPem + other.root.certPem,
        client: { servername: name },
        cipher: "TLS_AES_128_GCM_SHA256",
        serverCN: name,
        serverSays: [`Hostname in TLS extension: "${name}"`],
      });
    }
  });

  for (const mode of ["-verify", "-Verify"] as const) {
    for (const kind of ["client", "clientRsa"] as const) {
      test(`client certificate (${kind}) to s_server ${mode} 1`, { timeout: CELL_TIMEOUT }, async (t) => {
        const p = await pki();
        const cc = p[kind];
        const c = await sServerCell(t, {
          version: "1.3",
          args: [mode, "1", "-CAfile", cc.files.root, "-verify_return_error"],
          client: { cert: cc.chainPem, key: cc.leaf.keyPem },
          cipher: "TLS_AES_128_GCM_SHA256",
          serverSays: [
            `Peer certificate: CN = ${kind === "client" ? "typetls client" : "typetls client rsa"}, O = TypeTLS Test`,
            "Verification: OK",
          ],
        });
        if (c) {
          assert.equal(c.info?.clientCertificateRequested, true);
          // TLS 1.3 client signatures are ECDSA or RSA-PSS
          assert.equal(c.info?.signatureScheme, kind === "client" ? 0x0403 : 0x0804);
        }
      });
    }
  }

  test("no client certificate, s_server -verify 1 (requested): handshake completes", {
    timeout: CELL_TIMEOUT,
  }, async (t) => {
    const p = await pki();
    const c = await sServerCell(t, {
      version: "1.3",
      args: ["-verify", "1", "-CAfile", p.client.files.root, "-verify_return_error"],
      cipher: "TLS_AES_128_GCM_SHA256",
      serverSays: ["No peer certificate"],
    });
    if (c) assert.equal(c.info?.clientCertificateRequested, true);
  });

  test("no client certificate, s_server -Verify 1 (required): s_server sends certificate_required", {
    timeout: CELL_TIMEOUT,
  }, async (t) => {
    const p = await pki();
    await sServerFailCell(
      t,
      { version: "1.3", args: ["-Verify", "1", "-CAfile", p.client.files.root, "-verify_return_error"] },
      (client, out) => {
        assert.match(out, /peer did not return a certificate/);
        // In TLS 1.3 our Finished goes out before the server's verdict: our handshake may have
        // completed when the alert arrives. Either way the alert is the peer's certificate_required.
        const e = client.firstError;
        assert.equal(e?.alertName, "certificate_required", e?.message);
        assert.equal(e?.sentBy, "peer");
        assert.equal(e?.code, "ERR_TLS_PEER_ALERT_CERTIFICATE_REQUIRED");
      },
    );
  });

  test("KeyUpdate: our client updateKeys(true) mid-stream; s_server answers with its own KeyUpdate", {
    timeout: CELL_TIMEOUT,
  }, async (t) => {
    const c = await sServerCell(t, {
      version: "1.3",
      cipher: "TLS_AES_128_GCM_SHA256",
      // s_server answers with its own KeyUpdate, which arrives before the echo of the next line
      // (that line and its echo are under the new keys in both directions)
      midway: async (client) => client.sock.updateKeys(true),
    });
    if (c) {
      const sent = c.traces.filter((x) => x.direction === "send" && x.message === "KeyUpdate");
      const recv = c.traces.filter((x) => x.direction === "recv" && x.message === "KeyUpdate");
      assert.deepEqual(
        sent.map((x) => x.fields.request),
        ["update_requested"],
      );
      assert.deepEqual(
        recv.map((x) => x.fields.request),
        ["update_not_requested"],
        "OpenSSL updates its keys too, without asking back",
      );
    }
  });

  test("KeyUpdate: our client updateKeys(false) twice; s_server does not answer", {
    timeout: CELL_TIMEOUT,
  }, async (t) => {
    const c = await sServerCell(t, {
      version: "1.3",
      cipher: "TLS_AES_256_GCM_SHA384",
      args: ["-ciphersuites", "TLS_AES_256_GCM_SHA384"],
      midway: async (client) => {
        client.sock.updateKeys(false);
        client.sock.updateKeys(false);
      },
    });
    if (c) {
      assert.equal(c.traced("send", "KeyUpdate"), 2);
      assert.equal(c.traced("recv", "KeyUpdate"), 0);
    }
  });

  for (const cmd of ["k", "K"] as const) {
    test(`KeyUpdate from s_server (command "${cmd}"): our client ${cmd === "K" ? "answers with its own" : "updates its read keys"}`, {
      timeout: CELL_TIMEOUT,
    }, async (t) => {
      if (!requirePeer(t, "openssl")) return;
      const p = await pki();
      const chain = p.p256;
      // interactive s_server: prints what it receives, sends what it reads from stdin; k/K send a KeyUpdate
      const { proc, port } = await startServerPeer("openssl", (port) =>
        sServerArgs(port, chain, "1.3", [], { interactive: true }),
      );
      const client = ourClient({ port, servername: "localhost", ca: chain.root.certPem });
      try {
        await cell([client, proc], async () => {
          await client.secure();
          client.sock.write("before\n");
          await proc.waitFor("before\n", STEP);
          proc.write(`${cmd}\n`);
          // s_server prints nothing for it: our trace shows it arrived
          await client.until(() => client.traced("recv", "KeyUpdate") > 0, STEP, "s_server's KeyUpdate");
          proc.write("after the server's KeyUpdate\n");
          await client.receive("after the server's KeyUpdate\n");
          client.sock.write("client after KeyUpdate\n");
          await proc.waitFor("client after KeyUpdate\n", STEP);
          assert.deepEqual(
            client.traces
              .filter((x) => x.message === "KeyUpdate")
              .map((x) => `${x.direction} ${x.fields.request}`),
            cmd === "K"
              ? ["recv update_requested", "send update_not_requested"]
              : ["recv update_not_requested"],
          );
          client.sock.end();
          await client.waitClosed();
          assert.deepEqual(
            client.errors.map((e) => e.message),
            [],
          );
        });
      } finally {
        client.sock.destroy();
        await proc.kill();
      }
    });
  }

  test("s_server -record_padding 512: padded TLSInnerPlaintext records", {
    timeout: CELL_TIMEOUT,
  }, async (t) => {
    await sServerCell(t, {
      version: "1.3",
      args: ["-record_padding", "512"],
      cipher: "TLS_AES_128_GCM_SHA256",
    });
  });

  for (const n of [0, 5]) {
    test(`NewSessionTicket: s_server -num_tickets ${n}: ${n} 'session' events`, {
      timeout: CELL_TIMEOUT,
    }, async (t) => {
      const c = await sServerCell(t, {
        version: "1.3",
        args: ["-num_tickets", String(n)],
        cipher: "TLS_AES_128_GCM_SHA256",
      });
      if (c) assert.equal(c.sessions.length, n);
    });
  }

  test("NewSessionTicket: s_server sends two; our 'session' event fires twice, lifetime > 0", {
    timeout: CELL_TIMEOUT,
  }, async (t) => {
    const c = await sServerCell(t, { version: "1.3", cipher: "TLS_AES_128_GCM_SHA256" });
    if (c) {
      assert.equal(c.sessions.length, 2, "two tickets");
      assert.equal(c.traced("recv", "NewSessionTicket"), 2);
      for (const s of c.sessions) {
        assert.ok(s.state.lifetime > 0, `lifetime ${s.state.lifetime}`);
        assert.ok(s.state.ticket.length > 0);
        assert.equal(s.state.secret.length, 32, "SHA-256 resumption PSK");
        assert.equal(s.state.cipherSuite, 0x1301);
      }
      assert.notEqual(
        hex(c.sessions[0]!.state.ticket),
        hex(c.sessions[1]!.state.ticket),
        "two different tickets",
      );
    }
  });
});

describe("version negotiation vs openssl s_server", { concurrency: 4 }, () => {
  test("our client minVersion TLSv1.3 vs s_server -tls1_2: protocol_version from s_server", {
    timeout: CELL_TIMEOUT,
  }, async (t) => {
    await sServerFailCell(t, { version: "1.2", client: { minVersion: "TLSv1.3" } }, (client, out) => {
      assert.equal(client.info, null);
      const e = client.firstError;
      assert.equal(e?.alertName, "protocol_version", e?.message);
      assert.equal(e?.sentBy, "peer", "s_server detects it (it sees our supported_versions: 1.3 only)");
      assert.match(out, /unsupported protocol|no protocols available|version too low/i);
    });
  });

  test("our client default vs s_server -tls1_3 (1.3 only): TLSv1.3", { timeout: CELL_TIMEOUT }, async (t) => {
    await sServerCell(t, { version: "1.3", cipher: "TLS_AES_128_GCM_SHA256" });
  });

  test("our client minVersion TLSv1.3 vs s_server -tls1_3: TLSv1.3", { timeout: CELL_TIMEOUT }, async (t) => {
    await sServerCell(t, {
      version: "1.3",
      client: { minVersion: "TLSv1.3" },
      cipher: "TLS_AES_128_GCM_SHA256",
    });
  });

  test("our client maxVersion TLSv1.2 vs s_server -tls1_3: protocol_version from s_server", {
    timeout: CELL_TIMEOUT,
  }, async (t) => {
    await sServerFailCell(t, { version: "1.3", client: { maxVersion: "TLSv1.2" } }, (client, out) => {
      assert.equal(client.info, null);
      const e = client.firstError;
      assert.equal(e?.alertName, "protocol_version", e?.message);
      assert.equal(e?.sentBy, "peer");
      assert.match(out, /unsupported protocol|no protocols available|version too low/i);
    });
  });
});
