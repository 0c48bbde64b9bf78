/**
 * GnuTLS in both roles: TypeTLS client against `gnutls-serv --echo`, TypeTLS server against
 * `gnutls-cli`. gnutls-serv binds every interface (no bind option): the suite runs in a private
 * network namespace (scripts/test.mjs), so that is only loopback. The TLS 1.2 matrix uses
 * NORMAL:-VERS-ALL:+VERS-TLS1.2, the TLS 1.3 cells NORMAL:-VERS-ALL:+VERS-TLS1.3; gnutls-cli sends
 * KeyUpdates with --inline-commands ^rekey^ (asking us back) and ^rekey1^ (not asking).
 */
import assert from "node:assert/strict";
import { after, describe, type TestContext, test } from "node:test";
import type { ConnectOptions, CreateServerOptions } from "../../src/index.js";
import type { Chain } from "../fixtures/pki.js";
import { makeChain } from "../fixtures/pki.js";
import {
  CELL_TIMEOUT,
  CERT_KINDS_13,
  cell,
  chainFor,
  ECDHE_SUITES,
  GROUPS,
  gnutlsPriority,
  gnutlsPriority13,
  groupName,
  keylogLines,
  lineEcho,
  type Observer,
  ourClient,
  ourServer,
  pki,
  RSA_KX_SUITES,
  STEP,
  TLS13_SUITES,
  tempFile,
  type Version,
} from "./harness.js";
import { killAllPeers, type PeerProcess, requirePeer, spawnPeer, startServerPeer } from "./peers.js";

after(killAllPeers);

/** "(TLS1.2-X.509)-(ECDHE-X25519)-(ECDSA-SHA256)-(AES-128-GCM)" pieces. */
function describeRe(kx: string, cipher: string, group?: string): RegExp {
  const esc = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const kxPart =
    kx === "RSA" ? "\\(RSA\\)" : `\\(ECDHE-${group ? esc(group) : "[A-Z0-9]+"}\\)-\\([A-Z0-9-]+\\)`;
  return new RegExp(`- Description: \\(TLS1\\.2-X\\.509\\)-${kxPart}-\\(${esc(cipher)}\\)`);
}

/** "(TLS1.3-X.509)-(ECDHE-X25519)-(ECDSA-SECP256R1-SHA256)-(AES-128-GCM)" pieces. */
function describe13Re(cipher: string, group?: string): RegExp {
  const esc = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  return new RegExp(
    `- Description: \\(TLS1\\.3-X\\.509\\)-\\(ECDHE-${group ? esc(group) : "[A-Z0-9]+"}\\)-\\([A-Za-z0-9-]+\\)-\\(${esc(cipher)}\\)`,
  );
}

// ---- TypeTLS client vs gnutls-serv -------------------------------------------------------------

interface ServCell {
  chains?: Chain[];
  priority: string;
  /** Expected protocol (default TLSv1.2: the TLS 1.2 matrix). */
  protocol?: Version;
  /** TLS 1.3: whether gnutls-serv sent a HelloRetryRequest. */
  helloRetry?: boolean;
  /** Runs after the first line was echoed, before a second one and the close (KeyUpdate cells). */
  midway?: (client: Observer) => Promise<void>;
  args?: string[];
  client?: Partial<ConnectOptions>;
  ca?: string;
  cipher: string;
  group?: string;
  alpn?: string | false;
  serverCN?: string;
  /** gnutls-serv output must match */
  serverSays?: (string | RegExp)[];
}

async function servCell(t: TestContext, c: ServCell): Promise<Observer | undefined> {
  if (!requirePeer(t, "gnutls-serv")) return undefined;
  const p = await pki();
  const chains = c.chains ?? [p.p256];
  const certArgs = chains.flatMap((ch) => [
    "--x509certfile",
    ch.files.chain,
    "--x509keyfile",
    ch.files.leafKey,
  ]);
  const { proc, port } = await startServerPeer("gnutls-serv", (port) => [
    "--echo",
    "-p",
    String(port),
    "--priority",
    c.priority,
    ...certArgs,
    ...(c.args ?? []),
  ]);
  const client = ourClient({
    port,
    servername: "localhost",
    ca: c.ca ?? chains[0]!.root.certPem,
    ...c.client,
  });
  const expected: Version = c.protocol ?? "TLSv1.2";
  try {
    await cell([client, proc], async () => {
      const info = await client.secure();
      const line = `hello gnutls from typetls ${c.cipher}\n`;
      client.sock.write(line);
      await client.receive(line);
      let expectData = line;
      if (c.midway) {
        await c.midway(client);
        const line2 = `second line from typetls ${c.cipher}\n`;
        client.sock.write(line2);
        expectData += line2;
        await client.receive(expectData);
      }
      client.sock.end();
      await client.waitClosed();
      // gnutls-serv serves forever and buffers its stdout into a pipe: stop it, then read.
      await proc.kill();

      assert.equal(info.protocol, expected);
      assert.equal(client.sock.getCipher()?.name, c.cipher);
      if (c.group) assert.equal(info.group === undefined ? "none" : groupName(info.group), c.group);
      if (c.helloRetry !== undefined) {
        assert.equal(info.helloRetry === true, c.helloRetry, "helloRetry");
        assert.equal(client.traced("recv", "HelloRetryRequest"), c.helloRetry ? 1 : 0);
      }
      if (c.alpn !== undefined) assert.equal(client.sock.alpnProtocol, c.alpn);
      if (c.serverCN)
        assert.equal(info.peerCertificates[0]?.subject.toString(), `CN=${c.serverCN}, O=TypeTLS Test`);
      assert.equal(info.peerVerified, true);
      assert.equal(client.data, expectData);
      client.assertCleanClose();
      assert.match(
        proc.output,
        new RegExp(`- Version: ${expected === "TLSv1.3" ? "TLS1\\.3" : "TLS1\\.2"}\n`),
      );
      if (expected === "TLSv1.2") assert.match(proc.output, /- Options: extended master secret/);
      for (const s of c.serverSays ?? []) {
        if (typeof s === "string") assert.ok(proc.output.includes(s), `gnutls-serv should print ${s}`);
        else assert.match(proc.output, s);
      }
    });
  } finally {
    client.sock.destroy();
    await proc.kill();
  }
  return client;
}

/** Our client to gnutls-serv, expected to fail: `check` gets our observer and gnutls-serv's output. */
async function servFailCell(
  t: TestContext,
  c: { chain?: Chain; priority: string; args?: string[]; client?: Partial<ConnectOptions> },
  check: (client: Observer, out: string) => void,
): Promise<void> {
  if (!requirePeer(t, "gnutls-serv")) return;
  const p = await pki();
  const chain = c.chain ?? p.p256;
  const { proc, port } = await startServerPeer("gnutls-serv", (port) => [
    "--echo",
    "-p",
    String(port),
    "--priority",
    c.priority,
    "--x509certfile",
    chain.files.chain,
    "--x509keyfile",
    chain.files.leafKey,
    ...(c.args ?? []),
  ]);
  const client = ourClient({ port, servername: "localhost", ca: chain.root.certPem, ...c.client });
  try {
    await cell([client, proc], async () => {
      await client.waitClosed();
      // let gnutls-serv print its side before it is stopped
      await proc.waitFor(/Error in handshake|error|Received alert|Closed connection/i, STEP).catch(() => {});
      await proc.kill();
      assert.ok(client.errors.length > 0, "our client reports an error");
      assert.equal(client.data, "", "no application data");
      check(client, proc.output);
    });
  } finally {
    client.sock.destroy();
    await proc.kill();
  }
}

describe("TypeTLS client vs gnutls-serv", { concurrency: 4 }, () => {
  for (const s of [...ECDHE_SUITES, ...RSA_KX_SUITES]) {
    test(`suite ${s.iana}`, { timeout: CELL_TIMEOUT }, async (t) => {
      const p = await pki();
      await servCell(t, {
        chains: [chainFor(p, s)],
        priority: gnutlsPriority({ suite: s }),
        client: s.auth === "RSA-KX" ? { enableLegacyRsaKeyExchange: true, cipherSuites: [s.iana] } : {},
        cipher: s.openssl,
        serverSays: [
          describeRe(s.gnutlsKx === "RSA" ? "RSA" : "ECDHE", s.gnutlsCipher),
          `- Key Exchange: ${s.gnutlsKx}\n`,
        ],
      });
    });
  }

  for (const g of GROUPS) {
    for (const kind of ["p256", "rsa"] as const) {
      test(`group ${g.name} (+${g.gnutls}), ${kind} certificate`, { timeout: CELL_TIMEOUT }, async (t) => {
        const p = await pki();
        await servCell(t, {
          chains: [p[kind]],
          priority: gnutlsPriority({ group: g }),
          cipher: kind === "p256" ? "ECDHE-ECDSA-AES128-GCM-SHA256" : "ECDHE-RSA-AES128-GCM-SHA256",
          group: g.name,
          serverSays: [describeRe("ECDHE", "AES-128-GCM", g.gnutlsDesc)],
        });
      });
    }
  }

  test("ECDSA P-384 certificate", { timeout: CELL_TIMEOUT }, async (t) => {
    const p = await pki();
    await servCell(t, {
      chains: [p.p384],
      priority: gnutlsPriority(),
      client: { cipherSuites: ["TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"] },
      cipher: "ECDHE-ECDSA-AES256-GCM-SHA384",
      serverCN: "localhost",
    });
  });

  test("Ed25519 certificate", { timeout: CELL_TIMEOUT }, async (t) => {
    const p = await pki();
    const c = await servCell(t, {
      chains: [p.ed25519],
      priority: gnutlsPriority(),
      cipher: "ECDHE-ECDSA-AES128-GCM-SHA256",
      serverCN: "localhost",
      serverSays: ["EdDSA-Ed25519"],
    });
    if (c) assert.equal(c.info?.peerSignatureScheme, 0x0807);
  });

  test("ALPN h2 and http/1.1 negotiated", { timeout: CELL_TIMEOUT }, async (t) => {
    for (const proto of ["h2", "http/1.1"]) {
      await servCell(t, {
        priority: gnutlsPriority(),
        args: ["--alpn", "h2", "--alpn", "http/1.1"],
        client: { alpnProtocols: [proto] },
        cipher: "ECDHE-ECDSA-AES128-GCM-SHA256",
        alpn: proto,
        serverSays: [`- Application protocol: ${proto}`],
      });
    }
  });

  test("SNI: gnutls-serv sees our name and picks the matching certificate", {
    timeout: CELL_TIMEOUT,
  }, async (t) => {
    const p = await pki();
    const other = await makeChain({ key: "p256", hosts: ["other.test"], ips: [] });
    const ca = p.p256.root.certPem + other.root.certPem;
    await servCell(t, {
      chains: [p.p256, other],
      priority: gnutlsPriority(),
      ca,
      client: { servername: "other.test" },
      cipher: "ECDHE-ECDSA-AES128-GCM-SHA256",
      serverCN: "other.test",
      serverSays: ["- Given server name[1]: other.test"],
    });
    await servCell(t, {
      chains: [p.p256, other],
      priority: gnutlsPriority(),
      ca,
      client: { servername: "localhost" },
      cipher: "ECDHE-ECDSA-AES128-GCM-SHA256",
      serverCN: "localhost",
      serverSays: ["- Given server name[1]: localhost"],
    });
  });

  for (const flag of ["--verify-client-cert", "--require-client-cert"] as const) {
    for (const kind of ["client", "clientRsa"] as const) {
      test(`client certificate (${kind}) to gnutls-serv ${flag}`, { timeout: CELL_TIMEOUT }, async (t) => {
        const p = await pki();
        const cc = p[kind];
        const c = await servCell(t, {
          priority: gnutlsPriority(),
          args: [flag, "--x509cafile", cc.files.root],
          client: { cert: cc.chainPem, key: cc.leaf.keyPem },
          cipher: "ECDHE-ECDSA-AES128-GCM-SHA256",
          serverSays: [kind === "client" ? "CN=typetls client" : "CN=typetls client rsa"],
        });
        if (c) assert.equal(c.info?.clientCertificateRequested, true);
      });
    }
  }

  test("no client certificate, gnutls-serv --verify-client-cert (requested): completes", {
    timeout: CELL_TIMEOUT,
  }, async (t) => {
    const p = await pki();
    const c = await servCell(t, {
      priority: gnutlsPriority(),
      args: ["--verify-client-cert", "--x509cafile", p.client.files.root],
      cipher: "ECDHE-ECDSA-AES128-GCM-SHA256",
    });
    if (c) assert.equal(c.info?.clientCertificateRequested, true);
  });

  test("no client certificate, gnutls-serv --require-client-cert: the handshake fails", {
    timeout: CELL_TIMEOUT,
  }, async (t) => {
    if (!requirePeer(t, "gnutls-serv")) return;
    const p = await pki();
    const { proc, port } = await startServerPeer("gnutls-serv", (port) => [
      "--echo",
      "-p",
      String(port),
      "--priority",
      gnutlsPriority(),
      "--x509certfile",
      p.p256.files.chain,
      "--x509keyfile",
      p.p256.files.leafKey,
      "--require-client-cert",
      "--x509cafile",
      p.client.files.root,
    ]);
    const client = ourClient({ port, servername: "localhost", ca: p.p256.root.certPem });
    try {
      await cell([client, proc], async () => {
        await client.waitClosed();
        await proc.kill();
        assert.equal(client.info, null, "no handshake");
        const e = client.firstError;
        assert.equal(e?.sentBy, "peer", `the peer rejects us: ${e?.message}`);
        // GnuTLS 3.7.9 answers an empty client Certificate, when one is required, with decode_error
        // (node:tls and s_client clients get the same alert from it); others send handshake_failure.
        assert.match(
          String(e?.alertName),
          /^(decode_error|handshake_failure|certificate_required|bad_certificate)$/,
        );
        assert.match(proc.output, /No certificate was found|certificate is required|Error in handshake/i);
      });
    } finally {
      client.sock.destroy();
      await proc.kill();
    }
  });

  test("gnutls-serv NORMAL (1.2 and 1.3), our client default: TLSv1.3 negotiated", {
    timeout: CELL_TIMEOUT,
  }, async (t) => {
    await servCell(t, {
      priority: "NORMAL",
      protocol: "TLSv1.3",
      cipher: "TLS_AES_128_GCM_SHA256",
      group: "X25519",
      helloRetry: false,
      serverSays: [describe13Re("AES-128-GCM", "X25519")],
    });
  });

  test("gnutls-serv NORMAL (1.2 and 1.3), our client maxVersion TLSv1.2: TLSv1.2, no downgrade alarm", {
    timeout: CELL_TIMEOUT,
  }, async (t) => {
    const c = await servCell(t, {
      priority: "NORMAL",
      client: { maxVersion: "TLSv1.2" },
      cipher: "ECDHE-ECDSA-AES128-GCM-SHA256",
    });
    // GnuTLS, able to do 1.3, marks its random (RFC 8446 §4.1.3); we offered 1.2 only, so that is fine.
    if (c) assert.equal(Buffer.from(c.info!.serverRandom.subarray(24)).toString("hex"), "444f574e47524401");
  });
});

// ---- TypeTLS server vs gnutls-cli --------------------------------------------------------------

interface CliCell {
  server: CreateServerOptions;
  priority: string;
  /** Expected protocol (default TLSv1.2: the TLS 1.2 matrix). */
  protocol?: Version;
  /** TLS 1.3: whether our server sent a HelloRetryRequest. */
  helloRetry?: boolean;
  /** Runs after the first line was echoed, before gnutls-cli's stdin is closed (KeyUpdate cells). */
  interact?: (conn: Observer, proc: PeerProcess) => Promise<void>;
  caFile: string;
  servername?: string;
  args?: string[];
  cipher: string;
  group?: string;
  alpn?: string | false;
  serverCN?: string;
  clientSays?: (string | RegExp)[];
}

const CLI_LINE = "ping from gnutls-cli";

async function cliCell(t: TestContext, c: CliCell): Promise<Observer | undefined> {
  if (!requirePeer(t, "gnutls-cli")) return undefined;
  const server = await ourServer(c.server);
  server.onConnection = (o) => lineEcho(o, false);
  const name = c.servername ?? "localhost";
  const expected: Version = c.protocol ?? "TLSv1.2";
  const proc = spawnPeer("gnutls-cli", [
    "--x509cafile",
    c.caFile,
    "--priority",
    c.priority,
    "--sni-hostname",
    name,
    "--verify-hostname",
    name,
    ...(c.args ?? []),
    "-p",
    String(server.port),
    "127.0.0.1",
  ]);
  proc.write(`${CLI_LINE}\n`);
  try {
    await cell([server, proc], async () => {
      const conn = await server.secured();
      await conn.receive(`${CLI_LINE}\n`);
      await proc.waitFor(`echo:${CLI_LINE}\n`, STEP, "our answer");
      if (c.interact) await c.interact(conn, proc);
      // EOF on stdin: gnutls-cli sends close_notify, we answer, it exits.
      proc.endInput();
      const st = await proc.waitExit(STEP);
      await conn.waitClosed();
      const info = conn.info!;

      assert.equal(info.protocol, expected);
      assert.equal(conn.sock.getCipher()?.name, c.cipher);
      if (c.group) assert.equal(info.group === undefined ? "none" : groupName(info.group), c.group);
      if (c.helloRetry !== undefined) {
        assert.equal(info.helloRetry === true, c.helloRetry, "helloRetry");
        assert.equal(conn.traced("send", "HelloRetryRequest"), c.helloRetry ? 1 : 0);
        assert.equal(conn.traced("recv", "ClientHello"), c.helloRetry ? 2 : 1);
      }
      if (c.alpn !== undefined) assert.equal(conn.sock.alpnProtocol, c.alpn);
      assert.equal(info.serverName, name);
      if (!c.interact) assert.equal(conn.data, `${CLI_LINE}\n`);
      conn.assertCleanClose();

      assert.equal(st.code, 0, "gnutls-cli exits 0");
      const out = proc.output;
      assert.match(out, /- Status: The certificate is trusted\./);
      assert.match(out, /- Handshake was completed/);
      if (expected === "TLSv1.3") {
        assert.match(out, /- Description: \(TLS1\.3-X\.509\)/);
      } else {
        assert.match(out, /- Description: \(TLS1\.2-X\.509\)/);
        assert.match(out, /- Options: extended master secret/);
      }
      if (c.alpn) assert.ok(out.includes(`- Application protocol: ${c.alpn}\n`), "ALPN line");
      if (c.serverCN) assert.ok(out.includes(`subject \`O=TypeTLS Test,CN=${c.serverCN}'`), "server subject");
      for (const s of c.clientSays ?? []) {
        if (typeof s === "string") assert.ok(out.includes(s), `gnutls-cli should print ${s}`);
        else assert.match(out, s);
      }
    });
    return server.conns.find((o) => o.info);
  } finally {
    await proc.kill();
    await server.close();
  }
}

async function cliFailCell(
  t: TestContext,
  server: CreateServerOptions,
  priority: string,
  caFile: string,
  args: string[],
  check: (ours: { code?: string; alertName?: string; sentBy?: string; message: string }, out: string) => void,
): Promise<void> {
  if (!requirePeer(t, "gnutls-cli")) return;
  const srv = await ourServer(server);
  srv.onConnection = (o) => lineEcho(o, false);
  const proc = spawnPeer("gnutls-cli", [
    "--x509cafile",
    caFile,
    "--priority",
    priority,
    "--sni-hostname",
    "localhost",
    "--verify-hostname",
    "localhost",
    ...args,
    "-p",
    String(srv.port),
    "127.0.0.1",
  ]);
  proc.write(`${CLI_LINE}\n`);
  try {
    await cell([srv, proc], async () => {
      const err = await srv.failed();
      const st = await proc.waitExit(STEP);
      assert.notEqual(st.code, 0, "gnutls-cli fails");
      check(err, proc.output);
    });
  } finally {
    await proc.kill();
    await srv.close();
  }
}

describe("TypeTLS server vs gnutls-cli", { concurrency: 4 }, () => {
  for (const s of [...ECDHE_SUITES, ...RSA_KX_SUITES]) {
    test(`suite ${s.iana}`, { timeout: CELL_TIMEOUT }, async (t) => {
      const p = await pki();
      const chain = chainFor(p, s);
      await cliCell(t, {
        server: {
          cert: chain.chainPem,
          key: chain.leaf.keyPem,
          ...(s.auth === "RSA-KX" ? { enableLegacyRsaKeyExchange: true } : {}),
        },
        priority: gnutlsPriority({ suite: s }),
        caFile: chain.files.root,
        cipher: s.openssl,
        serverCN: "localhost",
        clientSays: [describeRe(s.gnutlsKx === "RSA" ? "RSA" : "ECDHE", s.gnutlsCipher)],
      });
    });
  }

  for (const g of GROUPS) {
    test(`group ${g.name} (+${g.gnutls})`, { timeout: CELL_TIMEOUT }, async (t) => {
      const p = await pki();
      await cliCell(t, {
        server: { cert: p.rsa.chainPem, key: p.rsa.leaf.keyPem },
        priority: gnutlsPriority({ group: g }),
        caFile: p.rsa.files.root,
        cipher: "ECDHE-RSA-AES128-GCM-SHA256",
        group: g.name,
        clientSays: [describeRe("ECDHE", "AES-128-GCM", g.gnutlsDesc)],
      });
    });
  }

  test("ECDSA P-384 certificate", { timeout: CELL_TIMEOUT }, async (t) => {
    const p = await pki();
    await cliCell(t, {
      server: { cert: p.p384.chainPem, key: p.p384.leaf.keyPem },
      priority: gnutlsPriority({ group: GROUPS[2]! }),
      caFile: p.p384.files.root,
      cipher: "ECDHE-ECDSA-AES128-GCM-SHA256",
      group: "P-384",
      serverCN: "localhost",
      clientSays: ["EC/ECDSA key 384 bits"],
    });
  });

  test("Ed25519 certificate", { timeout: CELL_TIMEOUT }, async (t) => {
    const p = await pki();
    const conn = await cliCell(t, {
      server: { cert: p.ed25519.chainPem, key: p.ed25519.leaf.keyPem },
      priority: gnutlsPriority(),
      caFile: p.ed25519.files.root,
      cipher: "ECDHE-ECDSA-AES128-GCM-SHA256",
      serverCN: "localhost",
      clientSays: ["(EdDSA-Ed25519)"],
    });
    if (conn) assert.equal(conn.info?.signatureScheme, 0x0807);
  });

  test("gnutls-cli NORMAL (1.2 and 1.3), our server default: TLSv1.3 negotiated", {
    timeout: CELL_TIMEOUT,
  }, async (t) => {
    const p = await pki();
    await cliCell(t, {
      server: { cert: p.p256.chainPem, key: p.p256.leaf.keyPem },
      priority: "NORMAL",
      protocol: "TLSv1.3",
      caFile: p.p256.files.root,
      cipher: "TLS_AES_128_GCM_SHA256",
      group: "X25519",
      helloRetry: false,
    });
  });

  test("gnutls-cli NORMAL (1.2 and 1.3), our server maxVersion TLSv1.2: TLSv1.2, gnutls-cli raises no alarm", {
    timeout: CELL_TIMEOUT,
  }, async (t) => {
    const p = await pki();
    await cliCell(t, {
      server: { cert: p.p256.chainPem, key: p.p256.leaf.keyPem, maxVersion: "TLSv1.2" },
      priority: "NORMAL",
      caFile: p.p256.files.root,
      cipher: "ECDHE-ECDSA-AES128-GCM-SHA256",
    });
  });

  test("ALPN h2 and http/1.1 negotiated", { timeout: CELL_TIMEOUT }, async (t) => {
    const p = await pki();
    for (const proto of ["h2", "http/1.1"]) {
      await cliCell(t, {
        server: { cert: p.p256.chainPem, key: p.p256.leaf.keyPem, alpnProtocols: ["h2", "http/1.1"] },
        priority: gnutlsPriority(),
        caFile: p.p256.files.root,
        args: ["--alpn", proto],
        cipher: "ECDHE-ECDSA-AES128-GCM-SHA256",
        alpn: proto,
      });
    }
  });

  test("ALPN without overlap: our server sends no_application_protocol", {
    timeout: CELL_TIMEOUT,
  }, async (t) => {
    const p = await pki();
    await cliFailCell(
      t,
      { cert: p.p256.chainPem, key: p.p256.leaf.keyPem, alpnProtocols: ["h2"] },
      gnutlsPriority(),
      p.p256.files.root,
      ["--alpn", "http/1.1"],
      (ours, out) => {
        assert.equal(ours.alertName, "no_application_protocol");
        assert.equal(ours.sentBy, "local");
        assert.match(out, /Received alert \[120\]/);
      },
    );
  });

  test("SNI: our server picks the certificate by name", { timeout: CELL_TIMEOUT }, async (t) => {
    const p = await pki();
    const other = await makeChain({ key: "p256", hosts: ["other.test"], ips: [] });
    const server: CreateServerOptions = {
      certificates: [
        { cert: p.p256.chainPem, key: p.p256.leaf.keyPem },
        { cert: other.chainPem, key: other.leaf.keyPem },
      ],
    };
    await cliCell(t, {
      server,
      priority: gnutlsPriority(),
      caFile: other.files.root,
      servername: "other.test",
      cipher: "ECDHE-ECDSA-AES128-GCM-SHA256",
      serverCN: "other.test",
    });
    await cliCell(t, {
      server,
      priority: gnutlsPriority(),
      caFile: p.p256.files.root,
      cipher: "ECDHE-ECDSA-AES128-GCM-SHA256",
      serverCN: "localhost",
    });
  });

  for (const mode of ["request", "require"] as const) {
    for (const kind of ["client", "clientRsa"] as const) {
      test(`client certificate (${kind}), our server clientAuth "${mode}"`, {
        timeout: CELL_TIMEOUT,
      }, async (t) => {
        const p = await pki();
        const cc = p[kind];
        const conn = await cliCell(t, {
          server: { cert: p.p256.chainPem, key: p.p256.leaf.keyPem, ca: cc.root.certPem, clientAuth: mode },
          priority: gnutlsPriority(),
          caFile: p.p256.files.root,
          args: ["--x509certfile", cc.files.chain, "--x509keyfile", cc.files.leafKey],
          cipher: "ECDHE-ECDSA-AES128-GCM-SHA256",
        });
        if (conn) {
          const cn = kind === "client" ? "typetls client" : "typetls client rsa";
          assert.equal(conn.info?.peerCertificates[0]?.subject.toString(), `CN=${cn}, O=TypeTLS Test`);
          assert.equal(conn.info?.peerVerified, true);
        }
      });
    }
  }

  test('no client certificate, our server clientAuth "request": completes', {
    timeout: CELL_TIMEOUT,
  }, async (t) => {
    const p = await pki();
    const conn = await cliCell(t, {
      server: {
        cert: p.p256.chainPem,
        key: p.p256.leaf.keyPem,
        ca: p.client.root.certPem,
        clientAuth: "request",
      },
      priority: gnutlsPriority(),
      caFile: p.p256.files.root,
      cipher: "ECDHE-ECDSA-AES128-GCM-SHA256",
    });
    if (conn) assert.equal(conn.info?.peerCertificates.length, 0);
  });

  test('no client certificate, our server clientAuth "require": we send handshake_failure', {
    timeout: CELL_TIMEOUT,
  }, async (t) => {
    const p = await pki();
    await cliFailCell(
      t,
      { cert: p.p256.chainPem, key: p.p256.leaf.keyPem, ca: p.client.root.certPem, clientAuth: "require" },
      gnutlsPriority(),
      p.p256.files.root,
      [],
      (ours, out) => {
        assert.equal(ours.alertName, "handshake_failure");
        assert.equal(ours.sentBy, "local");
        assert.match(out, /Received alert \[40\]/);
      },
    );
  });
});

// ---- extended_master_secret (RFC 7627) -----------------------------------------------------------

describe("extended_master_secret against GnuTLS %NO_SESSION_HASH", { concurrency: 4 }, () => {
  const NO_EMS = gnutlsPriority({ extra: "%NO_SESSION_HASH" });

  test("our client (EMS required, the default) refuses a server without EMS", {
    timeout: CELL_TIMEOUT,
  }, async (t) => {
    if (!requirePeer(t, "gnutls-serv")) return;
    const p = await pki();
    const { proc, port } = await startServerPeer("gnutls-serv", (port) => [
      "--echo",
      "-p",
      String(port),
      "--priority",
      NO_EMS,
      "--x509certfile",
      p.p256.files.chain,
      "--x509keyfile",
      p.p256.files.leafKey,
    ]);
    const client = ourClient({ port, servername: "localhost", ca: p.p256.root.certPem });
    try {
      await cell([client, proc], async () => {
        await client.waitClosed();
        await proc.kill();
        assert.equal(client.info, null);
        assert.equal(client.firstError?.alertName, "handshake_failure");
        assert.equal(client.firstError?.sentBy, "local");
        assert.match(proc.output, /Received alert \[40\]|handshake failed|Error in handshake/i);
      });
    } finally {
      client.sock.destroy();
      await proc.kill();
    }
  });

  test("our client with requireExtendedMasterSecret: false: the legacy master secret matches GnuTLS's key log", {
    timeout: CELL_TIMEOUT,
  }, async (t) => {
    if (!requirePeer(t, "gnutls-serv")) return;
    const p = await pki();
    const file = tempFile("gnutls-serv.keylog");
    const { proc, port } = await startServerPeer("env", (port) => [
      `SSLKEYLOGFILE=${file}`,
      "gnutls-serv",
      "--echo",
      "-p",
      String(port),
      "--priority",
      NO_EMS,
      "--x509certfile",
      p.rsa.files.chain,
      "--x509keyfile",
      p.rsa.files.leafKey,
    ]);
    const client = ourClient({
      port,
      servername: "localhost",
      ca: p.rsa.root.certPem,
      requireExtendedMasterSecret: false,
      cipherSuites: ["TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"],
    });
    try {
      await cell([client, proc], async () => {
        const info = await client.secure();
        assert.equal(info.extendedMasterSecret, false);
        client.sock.write("no ems\n");
        await client.receive("no ems\n");
        client.sock.end();
        await client.waitClosed();
        await proc.kill();
        client.assertCleanClose();
        assert.doesNotMatch(proc.output, /- Options: extended master secret/);
        assert.deepEqual(keylogLines(file), client.keylog);
      });
    } finally {
      client.sock.destroy();
      await proc.kill();
    }
  });

  test("our server (EMS required, the default) refuses a client without EMS", {
    timeout: CELL_TIMEOUT,
  }, async (t) => {
    const p = await pki();
    await cliFailCell(
      t,
      { cert: p.p256.chainPem, key: p.p256.leaf.keyPem },
      NO_EMS,
      p.p256.files.root,
      [],
      (ours, out) => {
        assert.equal(ours.alertName, "handshake_failure");
        assert.equal(ours.sentBy, "local");
        assert.match(out, /Received alert \[40\]/);
      },
    );
  });

  test("our server with requireExtendedMasterSecret: false: the legacy master secret matches GnuTLS's key log", {
    timeout: CELL_TIMEOUT,
  }, async (t) => {
    if (!requirePeer(t, "gnutls-cli")) return;
    const p = await pki();
    const file = tempFile("gnutls-cli.keylog");
    const server = await ourServer({
      cert: p.p256.chainPem,
      key: p.p256.leaf.keyPem,
      requireExtendedMasterSecret: false,
    });
    server.onConnection = (o) => lineEcho(o, false);
    const proc = spawnPeer("env", [
      `SSLKEYLOGFILE=${file}`,
      "gnutls-cli",
      "--x509cafile",
      p.p256.files.root,
      "--priority",
      NO_EMS,
      "--sni-hostname",
      "localhost",
      "-p",
      String(server.port),
      "127.0.0.1",
    ]);
    proc.write("no ems\n");
    try {
      await cell([server, proc], async () => {
        const conn = await server.secured();
        assert.equal(conn.info?.extendedMasterSecret, false);
        await proc.waitFor("echo:no ems\n", STEP);
        proc.endInput();
        assert.equal((await proc.waitExit(STEP)).code, 0);
        await conn.waitClosed();
        conn.assertCleanClose();
        assert.deepEqual(keylogLines(file), conn.keylog);
      });
    } finally {
      await proc.kill();
      await server.close();
    }
  });
});

// ---- TLS 1.3 --------------------------------------------------------------------------------------

const P13 = gnutlsPriority13();

describe("TypeTLS client vs gnutls-serv, TLS 1.3 only", { concurrency: 4 }, () => {
  for (const s of TLS13_SUITES) {
    test(`suite ${s.iana} (+${s.gnutlsCipher})`, { timeout: CELL_TIMEOUT }, async (t) => {
      await servCell(t, {
        priority: gnutlsPriority13({ suite: s }),
        protocol: "TLSv1.3",
        cipher: s.iana,
        group: "X25519",
        helloRetry: false,
        serverSays: [describe13Re(s.gnutlsCipher, "X25519")],
      });
    });
  }

  for (const g of GROUPS) {
    // Our default key shares are X25519MLKEM768 and X25519 (GnuTLS 3.7 has no ML-KEM).
    const hrr = g.name !== "X25519";
    test(`group ${g.name} (+${g.gnutls}): ${hrr ? "HelloRetryRequest" : "no HelloRetryRequest"}`, {
      timeout: CELL_TIMEOUT,
    }, async (t) => {
      await servCell(t, {
        priority: gnutlsPriority13({ group: g }),
        protocol: "TLSv1.3",
        cipher: "TLS_AES_128_GCM_SHA256",
        group: g.name,
        helloRetry: hrr,
        serverSays: [describe13Re("AES-128-GCM", g.gnutlsDesc)],
      });
    });
  }

  test("our client keyShareGroups [X25519], groups [X25519, P-384] vs +GROUP-SECP384R1 only: HelloRetryRequest", {
    timeout: CELL_TIMEOUT,
  }, async (t) => {
    await servCell(t, {
      priority: gnutlsPriority13({ group: GROUPS[2]! }),
      protocol: "TLSv1.3",
      client: { keyShareGroups: ["X25519"], groups: ["X25519", "P-384"] },
      cipher: "TLS_AES_128_GCM_SHA256",
      group: "P-384",
      helloRetry: true,
    });
  });

  test("gnutls-serv insists on a group we lack (+GROUP-FFDHE2048 only): handshake_failure, no hang", {
    timeout: CELL_TIMEOUT,
  }, async (t) => {
    await servFailCell(
      t,
      { priority: gnutlsPriority13({ extra: "-GROUP-ALL:+GROUP-FFDHE2048" }) },
      (client) => {
        assert.equal(client.info, null);
        const e = client.firstError;
        assert.equal(e?.sentBy, "peer", e?.message);
        assert.equal(e?.alertName, "handshake_failure", e?.message);
      },
    );
  });

  for (const k of CERT_KINDS_13) {
    test(`${k.kind} certificate: gnutls-serv signs with ${k.schemeName}`, {
      timeout: CELL_TIMEOUT,
    }, async (t) => {
      const p = await pki();
      const c = await servCell(t, {
        chains: [p[k.kind]],
        priority: P13,
        protocol: "TLSv1.3",
        cipher: "TLS_AES_128_GCM_SHA256",
        serverCN: "localhost",
      });
      if (c) assert.equal(c.info?.peerSignatureScheme, k.scheme);
    });
  }

  test("ALPN h2 and http/1.1 negotiated", { timeout: CELL_TIMEOUT }, async (t) => {
    for (const proto of ["h2", "http/1.1"]) {
      await servCell(t, {
        priority: P13,
        protocol: "TLSv1.3",
        args: ["--alpn", "h2", "--alpn", "http/1.1"],
        client: { alpnProtocols: [proto] },
        cipher: "TLS_AES_128_GCM_SHA256",
        alpn: proto,
        serverSays: [`- Application protocol: ${proto}`],
      });
    }
  });

  test("SNI: gnutls-serv sees our name and picks the matching certificate", {
    timeout: CELL_TIMEOUT,
  }, async (t) => {
    const p = await pki();
    const other = await makeChain({ key: "p256", hosts: ["other.test"], ips: [] });
    for (const name of ["other.test", "localhost"]) {
      await servCell(t, {
        chains: [p.p256, other],
        priority: P13,
        protocol: "TLSv1.3",
        ca: p.p256.root.certPem + other.root.certPem,
        client: { servername: name },
        cipher: "TLS_AES_128_GCM_SHA256",
        serverCN: name,
        serverSays: [`- Given server name[1]: ${name}`],
      });
    }
  });

  for (const flag of ["--verify-client-cert", "--require-client-cert"] as const) {
    for (const kind of ["client", "clientRsa"] as const) {
      test(`client certificate (${kind}) to gnutls-serv ${flag}`, { timeout: CELL_TIMEOUT }, async (t) => {
        const p = await pki();
        const cc = p[kind];
        const c = await servCell(t, {
          priority: P13,
          protocol: "TLSv1.3",
          args: [flag, "--x509cafile", cc.files.root],
          client: { cert: cc.chainPem, key: cc.leaf.keyPem },
          cipher: "TLS_AES_128_GCM_SHA256",
          serverSays: [kind === "client" ? "CN=typetls client" : "CN=typetls client rsa"],
        });
        if (c) {
          assert.equal(c.info?.clientCertificateRequested, true);
          assert.equal(c.info?.signatureScheme, kind === "client" ? 0x0403 : 0x0804);
        }
      });
    }
  }

  test("no client certificate, gnutls-serv --verify-client-cert (requested): completes", {
    timeout: CELL_TIMEOUT,
  }, async (t) => {
    const p = await pki();
    const c = await servCell(t, {
      priority: P13,
      protocol: "TLSv1.3",
      args: ["--verify-client-cert", "--x509cafile", p.client.files.root],
      cipher: "TLS_AES_128_GCM_SHA256",
    });
    if (c) assert.equal(c.info?.clientCertificateRequested, true);
  });

  test("no client certificate, gnutls-serv --require-client-cert: gnutls-serv rejects us", {
    timeout: CELL_TIMEOUT,
  }, async (t) => {
    const p = await pki();
    await servFailCell(
      t,
      { priority: P13, args: ["--require-client-cert", "--x509cafile", p.client.files.root] },
      (client, out) => {
        const e = client.firstError;
        assert.equal(e?.sentBy, "peer", `the peer rejects us: ${e?.message}`);
        assert.equal(e?.alertName, "certificate_required", e?.message);
        assert.match(out, /certificate is required|No certificate was found|Error in handshake/i);
      },
    );
  });

  test("KeyUpdate: our client updateKeys(true) mid-stream; gnutls-serv answers with its own", {
    timeout: CELL_TIMEOUT,
  }, async (t) => {
    const c = await servCell(t, {
      priority: P13,
      protocol: "TLSv1.3",
      cipher: "TLS_AES_128_GCM_SHA256",
      midway: async (client) => client.sock.updateKeys(true),
    });
    if (c) {
      assert.deepEqual(
        c.traces.filter((x) => x.message === "KeyUpdate").map((x) => `${x.direction} ${x.fields.request}`),
        ["send update_requested", "recv update_not_requested"],
      );
    }
  });

  test("NewSessionTicket from gnutls-serv: our 'session' event, lifetime > 0", {
    timeout: CELL_TIMEOUT,
  }, async (t) => {
    const c = await servCell(t, {
      priority: gnutlsPriority13({ suite: TLS13_SUITES[1]! }),
      protocol: "TLSv1.3",
      cipher: "TLS_AES_256_GCM_SHA384",
    });
    if (c) {
      assert.ok(c.sessions.length >= 1, "at least one ticket");
      assert.equal(c.sessions.length, c.traced("recv", "NewSessionTicket"));
      for (const s of c.sessions) {
        assert.ok(s.state.lifetime > 0);
        assert.equal(s.state.secret.length, 48, "SHA-384 resumption PSK");
      }
    }
  });
});

describe("TypeTLS server vs gnutls-cli, TLS 1.3 only", { concurrency: 4 }, () => {
  for (const s of TLS13_SUITES) {
    test(`suite ${s.iana} (+${s.gnutlsCipher})`, { timeout: CELL_TIMEOUT }, async (t) => {
      const p = await pki();
      await cliCell(t, {
        server: { cert: p.p256.chainPem, key: p.p256.leaf.keyPem },
        priority: gnutlsPriority13({ suite: s }),
        protocol: "TLSv1.3",
        caFile: p.p256.files.root,
        cipher: s.iana,
        group: "X25519",
        helloRetry: false,
        clientSays: [describe13Re(s.gnutlsCipher, "X25519")],
      });
    });
  }

  for (const g of GROUPS) {
    test(`group ${g.name} (+${g.gnutls}): its key share, no HelloRetryRequest`, {
      timeout: CELL_TIMEOUT,
    }, async (t) => {
      const p = await pki();
      await cliCell(t, {
        server: { cert: p.rsa.chainPem, key: p.rsa.leaf.keyPem },
        priority: gnutlsPriority13({ group: g }),
        protocol: "TLSv1.3",
        caFile: p.rsa.files.root,
        cipher: "TLS_AES_128_GCM_SHA256",
        group: g.name,
        helloRetry: false,
        clientSays: [describe13Re("AES-128-GCM", g.gnutlsDesc)],
      });
    });
  }

  test('HelloRetryRequest: our server groups ["P-384"], gnutls-cli sends X25519 and P-256 shares', {
    timeout: CELL_TIMEOUT,
  }, async (t) => {
    // GnuTLS always sends shares for its first two groups of different key types (here X25519 and
    // the NIST curves): it cannot be made to send an X25519 share alone while it supports P-384.
    const p = await pki();
    const conn = await cliCell(t, {
      server: { cert: p.p256.chainPem, key: p.p256.leaf.keyPem, groups: ["P-384"] },
      priority: gnutlsPriority13({ extra: "-GROUP-ALL:+GROUP-X25519:+GROUP-SECP256R1:+GROUP-SECP384R1" }),
      protocol: "TLSv1.3",
      caFile: p.p256.files.root,
      cipher: "TLS_AES_128_GCM_SHA256",
      group: "P-384",
      helloRetry: true,
      clientSays: [describe13Re("AES-128-GCM", "SECP384R1")],
    });
    if (conn) {
      const hellos = conn.traces.filter((x) => x.direction === "recv" && x.message === "ClientHello");
      assert.equal(hellos[0]?.fields.key_share, "X25519,P-256", "gnutls-cli's first ClientHello");
      assert.equal(hellos[1]?.fields.key_share, "P-384", "gnutls-cli's second ClientHello");
    }
  });

  for (const k of CERT_KINDS_13) {
    test(`${k.kind} certificate: we sign with ${k.schemeName}`, { timeout: CELL_TIMEOUT }, async (t) => {
      const p = await pki();
      const chain = p[k.kind];
      const conn = await cliCell(t, {
        server: { cert: chain.chainPem, key: chain.leaf.keyPem },
        priority: P13,
        protocol: "TLSv1.3",
        caFile: chain.files.root,
        cipher: "TLS_AES_128_GCM_SHA256",
        serverCN: "localhost",
      });
      if (conn) assert.equal(conn.info?.signatureScheme, k.scheme);
    });
  }

  test("ALPN h2 and http/1.1 negotiated", { timeout: CELL_TIMEOUT }, async (t) => {
    const p = await pki();
    for (const proto of ["h2", "http/1.1"]) {
      await cliCell(t, {
        server: { cert: p.p256.chainPem, key: p.p256.leaf.keyPem, alpnProtocols: ["h2", "http/1.1"] },
        priority: P13,
        protocol: "TLSv1.3",
        caFile: p.p256.files.root,
        args: ["--alpn", proto],
        cipher: "TLS_AES_128_GCM_SHA256",
        alpn: proto,
      });
    }
  });

  test("ALPN without overlap: our server sends no_application_protocol", {
    timeout: CELL_TIMEOUT,
  }, async (t) => {
    const p = await pki();
    await cliFailCell(
      t,
      { cert: p.p256.chainPem, key: p.p256.leaf.keyPem, alpnProtocols: ["h2"] },
      P13,
      p.p256.files.root,
      ["--alpn", "http/1.1"],
      (ours, out) => {
        assert.equal(ours.alertName, "no_application_protocol");
        assert.equal(ours.sentBy, "local");
        assert.match(out, /Received alert \[120\]/);
      },
    );
  });

  test("SNI: our server picks the certificate by name", { timeout: CELL_TIMEOUT }, async (t) => {
    const p = await pki();
    const other = await makeChain({ key: "p256", hosts: ["other.test"], ips: [] });
    const server: CreateServerOptions = {
      certificates: [
        { cert: p.p256.chainPem, key: p.p256.leaf.keyPem },
        { cert: other.chainPem, key: other.leaf.keyPem },
      ],
    };
    await cliCell(t, {
      server,
      priority: P13,
      protocol: "TLSv1.3",
      caFile: other.files.root,
      servername: "other.test",
      cipher: "TLS_AES_128_GCM_SHA256",
      serverCN: "other.test",
    });
    await cliCell(t, {
      server,
      priority: P13,
      protocol: "TLSv1.3",
      caFile: p.p256.files.root,
      cipher: "TLS_AES_128_GCM_SHA256",
      serverCN: "localhost",
    });
  });

  for (const mode of ["request", "require"] as const) {
    for (const kind of ["client", "clientRsa"] as const) {
      test(`client certificate (${kind}), our server clientAuth "${mode}"`, {
        timeout: CELL_TIMEOUT,
      }, async (t) => {
        const p = await pki();
        const cc = p[kind];
        const conn = await cliCell(t, {
          server: { cert: p.p256.chainPem, key: p.p256.leaf.keyPem, ca: cc.root.certPem, clientAuth: mode },
          priority: P13,
          protocol: "TLSv1.3",
          caFile: p.p256.files.root,
          args: ["--x509certfile", cc.files.chain, "--x509keyfile", cc.files.leafKey],
          cipher: "TLS_AES_128_GCM_SHA256",
        });
        if (conn) {
          const cn = kind === "client" ? "typetls client" : "typetls client rsa";
          assert.equal(conn.info?.peerCertificates[0]?.subject.toString(), `CN=${cn}, O=TypeTLS Test`);
          assert.equal(conn.info?.peerVerified, true);
          assert.equal(conn.info?.peerSignatureScheme, kind === "client" ? 0x0403 : 0x0804);
        }
      });
    }
  }

  test('no client certificate, our server clientAuth "request": completes', {
    timeout: CELL_TIMEOUT,
  }, async (t) => {
    const p = await pki();
    const conn = await cliCell(t, {
      server: {
        cert: p.p256.chainPem,
        key: p.p256.leaf.keyPem,
        ca: p.client.root.certPem,
        clientAuth: "request",
      },
      priority: P13,
      protocol: "TLSv1.3",
      caFile: p.p256.files.root,
      cipher: "TLS_AES_128_GCM_SHA256",
    });
    if (conn) assert.equal(conn.info?.peerCertificates.length, 0);
  });

  test('no client certificate, our server clientAuth "require": we send certificate_required', {
    timeout: CELL_TIMEOUT,
  }, async (t) => {
    const p = await pki();
    await cliFailCell(
      t,
      { cert: p.p256.chainPem, key: p.p256.leaf.keyPem, ca: p.client.root.certPem, clientAuth: "require" },
      P13,
      p.p256.files.root,
      [],
      (ours, out) => {
        assert.equal(ours.alertName, "certificate_required", ours.message);
        assert.equal(ours.sentBy, "local");
        assert.match(out, /Received alert \[116\]/);
      },
    );
  });

  for (const cmd of ["rekey", "rekey1"] as const) {
    test(`KeyUpdate from gnutls-cli (--inline-commands ^${cmd}^), then data both ways`, {
      timeout: CELL_TIMEOUT,
    }, async (t) => {
      const p = await pki();
      const conn = await cliCell(t, {
        server: { cert: p.p256.chainPem, key: p.p256.leaf.keyPem },
        priority: P13,
        protocol: "TLSv1.3",
        caFile: p.p256.files.root,
        args: ["--inline-commands"],
        cipher: "TLS_AES_128_GCM_SHA256",
        interact: async (c, proc) => {
          proc.write(`^${cmd}^\n`);
          await c.until(() => c.traced("recv", "KeyUpdate") > 0, STEP, "gnutls-cli's KeyUpdate");
          await proc.waitFor("- Rekey was completed", STEP);
          proc.write("after the KeyUpdate\n");
          await proc.waitFor("echo:after the KeyUpdate\n", STEP);
        },
      });
      if (conn) {
        assert.equal(conn.data, `${CLI_LINE}\nafter the KeyUpdate\n`);
        assert.deepEqual(
          conn.traces
            .filter((x) => x.message === "KeyUpdate")
            .map((x) => `${x.direction} ${x.fields.request}`),
          cmd === "rekey"
            ? ["recv update_requested", "send update_not_requested"]
            : ["recv update_not_requested"],
        );
      }
    });
  }
});
