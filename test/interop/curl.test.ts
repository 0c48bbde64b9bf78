/**
 * TypeTLS server against curl (OpenSSL backend): curl sends an HTTP/1.1 request, our server answers
 * with a minimal HTTP response and close_notify. The TLS 1.2 matrix pins curl to 1.2
 * (--tlsv1.2 --tls-max 1.2); the TLS 1.3 cells use --tlsv1.3 (--tls13-ciphers, --curves). curl has
 * no way to send a KeyUpdate.
 */
import assert from "node:assert/strict";
import { after, describe, type TestContext, test } from "node:test";
import type { CreateServerOptions } from "../../src/index.js";
import { makeChain } from "../fixtures/pki.js";
import {
  CELL_TIMEOUT,
  CERT_KINDS_13,
  cell,
  chainFor,
  ECDHE_SUITES,
  GROUPS,
  groupName,
  type Observer,
  ourServer,
  pki,
  RSA_KX_SUITES,
  STEP,
  TLS13_SUITES,
  type Version,
} from "./harness.js";
import { killAllPeers, requirePeer, spawnPeer } from "./peers.js";

after(killAllPeers);

/** Our server's HTTP: answers the first request with `body`, then close_notify. */
function httpResponder(o: Observer, body: string): void {
  let req = "";
  o.sock.on("data", (d: Buffer) => {
    req += d.toString("utf8");
    if (!req.includes("\r\n\r\n")) return;
    o.sock.write(
      `HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
    o.sock.end();
  });
}

type CurlVersion = "1.2" | "1.3" | "any";

const VERSION_ARGS: Record<CurlVersion, string[]> = {
  "1.2": ["--tlsv1.2", "--tls-max", "1.2"],
  "1.3": ["--tlsv1.3"],
  any: [],
};

interface CurlCell {
  server: CreateServerOptions;
  caFile: string;
  host?: string;
  args?: string[];
  /** curl's version pin: "1.2" (--tlsv1.2 --tls-max 1.2, the TLS 1.2 matrix, default), "1.3" (--tlsv1.3), "any". */
  version?: CurlVersion;
  /** Expected protocol (default: TLSv1.2 when either side is pinned to 1.2, else TLSv1.3). */
  protocol?: Version;
  cipher: string;
  group?: string;
  /** TLS 1.3: whether our server sent a HelloRetryRequest. */
  helloRetry?: boolean;
  alpn?: string | false;
  serverCN?: string;
}

async function curlCell(t: TestContext, c: CurlCell): Promise<Observer | undefined> {
  if (!requirePeer(t, "curl")) return undefined;
  const server = await ourServer(c.server);
  const body = `hello curl, from typetls (${c.cipher})\n`;
  server.onConnection = (o) => httpResponder(o, body);
  const host = c.host ?? "localhost";
  const url = `https://${host}:${server.port}/interop?x=1`;
  const version = c.version ?? "1.2";
  const expected: Version =
    c.protocol ?? (version === "1.2" || c.server.maxVersion === "TLSv1.2" ? "TLSv1.2" : "TLSv1.3");
  const proc = spawnPeer("curl", [
    "-sS",
    "-v",
    "--no-progress-meter",
    "--cacert",
    c.caFile,
    "--resolve",
    `${host}:${server.port}:127.0.0.1`,
    ...VERSION_ARGS[version],
    "--max-time",
    String(STEP / 1000),
    "-w",
    "\\nhttp_code=%{http_code} ssl_verify_result=%{ssl_verify_result}\\n",
    ...(c.args ?? []),
    url,
  ]);
  try {
    await cell([server, proc], async () => {
      const conn = await server.secured();
      const st = await proc.waitExit(STEP);
      await conn.waitClosed();
      const info = conn.info!;

      // our side
      assert.equal(info.protocol, expected);
      assert.equal(conn.sock.getCipher()?.name, c.cipher);
      if (c.group) assert.equal(info.group === undefined ? "none" : groupName(info.group), c.group);
      if (c.helloRetry !== undefined) {
        assert.equal(info.helloRetry === true, c.helloRetry, "helloRetry");
        assert.equal(conn.traced("send", "HelloRetryRequest"), c.helloRetry ? 1 : 0);
        assert.equal(conn.traced("recv", "ClientHello"), c.helloRetry ? 2 : 1);
      }
      if (c.alpn !== undefined) assert.equal(conn.sock.alpnProtocol, c.alpn);
      assert.equal(info.serverName, host);
      assert.match(conn.data, /^GET \/interop\?x=1 HTTP\/1\.1\r\n/);
      assert.ok(conn.data.includes(`\r\nHost: ${host}:${server.port}\r\n`), "Host header");
      assert.ok(conn.data.endsWith("\r\n\r\n"), "the whole request arrived");
      conn.assertCleanClose();

      // curl's side
      assert.equal(st.code, 0, "curl exits 0");
      assert.equal(proc.stdout, `${body}\nhttp_code=200 ssl_verify_result=0\n`);
      assert.ok(
        proc.stderr.includes(`* SSL connection using ${expected} / ${c.cipher}\n`),
        "curl's protocol and cipher",
      );
      assert.ok(proc.stderr.includes("*  SSL certificate verify ok."), "curl verified our chain");
      if (c.alpn) assert.ok(proc.stderr.includes(`* ALPN: server accepted ${c.alpn}\n`), "ALPN line");
      if (c.alpn === false)
        assert.ok(proc.stderr.includes("* ALPN: server did not agree on a protocol"), "no ALPN");
      if (c.serverCN)
        assert.ok(proc.stderr.includes(`*  subject: CN=${c.serverCN}; O=TypeTLS Test\n`), "server subject");
    });
    return server.conns.find((o) => o.info);
  } finally {
    await proc.kill();
    await server.close();
  }
}

async function curlFailCell(
  t: TestContext,
  serverOpts: CreateServerOptions,
  caFile: string,
  args: string[],
  check: (
    ours: { code?: string; alertName?: string; sentBy?: string; message: string },
    stderr: string,
  ) => void,
  opts: { version?: CurlVersion; exitCode?: number } = {},
): Promise<void> {
  if (!requirePeer(t, "curl")) return;
  const server = await ourServer(serverOpts);
  server.onConnection = (o) => httpResponder(o, "must not arrive\n");
  const proc = spawnPeer("curl", [
    "-sS",
    "-v",
    "--cacert",
    caFile,
    "--resolve",
    `localhost:${server.port}:127.0.0.1`,
    ...VERSION_ARGS[opts.version ?? "1.2"],
    "--max-time",
    String(STEP / 1000),
    ...args,
    `https://localhost:${server.port}/`,
  ]);
  try {
    await cell([server, proc], async () => {
      const err = await server.failed();
      const st = await proc.waitExit(STEP);
      assert.equal(st.code, opts.exitCode ?? 35, "curl's exit code (35: CURLE_SSL_CONNECT_ERROR)");
      assert.equal(proc.stdout, "");
      check(err, proc.stderr);
    });
  } finally {
    await proc.kill();
    await server.close();
  }
}

describe("TypeTLS server vs curl", { concurrency: 4 }, () => {
  for (const s of [...ECDHE_SUITES, ...RSA_KX_SUITES]) {
    test(`suite ${s.iana}`, { timeout: CELL_TIMEOUT }, async (t) => {
      const p = await pki();
      const chain = chainFor(p, s);
      await curlCell(t, {
        server: {
          cert: chain.chainPem,
          key: chain.leaf.keyPem,
          ...(s.auth === "RSA-KX" ? { enableLegacyRsaKeyExchange: true } : {}),
        },
        caFile: chain.files.root,
        args: ["--ciphers", s.openssl],
        cipher: s.openssl,
        serverCN: "localhost",
      });
    });
  }

  for (const g of GROUPS) {
    test(`group ${g.name} (curl --curves ${g.openssl})`, { timeout: CELL_TIMEOUT }, async (t) => {
      const p = await pki();
      await curlCell(t, {
        server: { cert: p.rsa.chainPem, key: p.rsa.leaf.keyPem },
        caFile: p.rsa.files.root,
        args: ["--curves", g.openssl],
        cipher: "ECDHE-RSA-AES128-GCM-SHA256",
        group: g.name,
      });
    });
  }

  test("ECDSA P-384 certificate", { timeout: CELL_TIMEOUT }, async (t) => {
    const p = await pki();
    await curlCell(t, {
      server: { cert: p.p384.chainPem, key: p.p384.leaf.keyPem },
      caFile: p.p384.files.root,
      args: ["--ciphers", "ECDHE-ECDSA-AES256-GCM-SHA384"],
      cipher: "ECDHE-ECDSA-AES256-GCM-SHA384",
      serverCN: "localhost",
    });
  });

  test("Ed25519 certificate", { timeout: CELL_TIMEOUT }, async (t) => {
    const p = await pki();
    const conn = await curlCell(t, {
      server: { cert: p.ed25519.chainPem, key: p.ed25519.leaf.keyPem },
      caFile: p.ed25519.files.root,
      cipher: "ECDHE-ECDSA-AES128-GCM-SHA256",
      serverCN: "localhost",
    });
    if (conn) assert.equal(conn.info?.signatureScheme, 0x0807);
  });

  test("curl offering TLS 1.2 and 1.3, our server default: TLSv1.3 negotiated", {
    timeout: CELL_TIMEOUT,
  }, async (t) => {
    const p = await pki();
    await curlCell(t, {
      server: { cert: p.p256.chainPem, key: p.p256.leaf.keyPem },
      caFile: p.p256.files.root,
      version: "any",
      cipher: "TLS_AES_128_GCM_SHA256",
      group: "X25519",
      helloRetry: false,
    });
  });

  test("curl offering TLS 1.2 and 1.3, our server maxVersion TLSv1.2: TLSv1.2, curl raises no alarm", {
    timeout: CELL_TIMEOUT,
  }, async (t) => {
    const p = await pki();
    await curlCell(t, {
      server: { cert: p.p256.chainPem, key: p.p256.leaf.keyPem, maxVersion: "TLSv1.2" },
      caFile: p.p256.files.root,
      version: "any",
      cipher: "ECDHE-ECDSA-AES128-GCM-SHA256",
    });
  });

  test("ALPN http/1.1 negotiated (curl --http1.1)", { timeout: CELL_TIMEOUT }, async (t) => {
    const p = await pki();
    await curlCell(t, {
      server: { cert: p.p256.chainPem, key: p.p256.leaf.keyPem, alpnProtocols: ["h2", "http/1.1"] },
      caFile: p.p256.files.root,
      args: ["--http1.1"],
      cipher: "ECDHE-ECDSA-AES128-GCM-SHA256",
      alpn: "http/1.1",
    });
  });

  test("ALPN: curl --http2 offers h2,http/1.1; our server's http/1.1 wins", {
    timeout: CELL_TIMEOUT,
  }, async (t) => {
    const p = await pki();
    await curlCell(t, {
      server: { cert: p.p256.chainPem, key: p.p256.leaf.keyPem, alpnProtocols: ["http/1.1"] },
      caFile: p.p256.files.root,
      args: ["--http2"],
      cipher: "ECDHE-ECDSA-AES128-GCM-SHA256",
      alpn: "http/1.1",
    });
  });

  test("ALPN without overlap: our server sends no_application_protocol", {
    timeout: CELL_TIMEOUT,
  }, async (t) => {
    const p = await pki();
    await curlFailCell(
      t,
      { cert: p.p256.chainPem, key: p.p256.leaf.keyPem, alpnProtocols: ["h2"] },
      p.p256.files.root,
      ["--http1.1"],
      (ours, stderr) => {
        assert.equal(ours.alertName, "no_application_protocol");
        assert.equal(ours.sentBy, "local");
        assert.match(stderr, /no application protocol/);
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
    await curlCell(t, {
      server,
      caFile: other.files.root,
      host: "other.test",
      cipher: "ECDHE-ECDSA-AES128-GCM-SHA256",
      serverCN: "other.test",
    });
    await curlCell(t, {
      server,
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
        const conn = await curlCell(t, {
          server: { cert: p.p256.chainPem, key: p.p256.leaf.keyPem, ca: cc.root.certPem, clientAuth: mode },
          caFile: p.p256.files.root,
          args: ["--cert", cc.files.chain, "--key", cc.files.leafKey],
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
    const conn = await curlCell(t, {
      server: {
        cert: p.p256.chainPem,
        key: p.p256.leaf.keyPem,
        ca: p.client.root.certPem,
        clientAuth: "request",
      },
      caFile: p.p256.files.root,
      cipher: "ECDHE-ECDSA-AES128-GCM-SHA256",
    });
    if (conn) assert.equal(conn.info?.peerCertificates.length, 0);
  });

  test('no client certificate, our server clientAuth "require": we send handshake_failure', {
    timeout: CELL_TIMEOUT,
  }, async (t) => {
    const p = await pki();
    await curlFailCell(
      t,
      { cert: p.p256.chainPem, key: p.p256.leaf.keyPem, ca: p.client.root.certPem, clientAuth: "require" },
      p.p256.files.root,
      [],
      (ours, stderr) => {
        assert.equal(ours.alertName, "handshake_failure");
        assert.equal(ours.sentBy, "local");
        assert.match(stderr, /alert handshake failure/);
      },
    );
  });
});

// ---- TLS 1.3 --------------------------------------------------------------------------------------

describe("TypeTLS server vs curl --tlsv1.3", { concurrency: 4 }, () => {
  for (const s of TLS13_SUITES) {
    test(`suite ${s.iana} (curl --tls13-ciphers)`, { timeout: CELL_TIMEOUT }, async (t) => {
      const p = await pki();
      await curlCell(t, {
        server: { cert: p.p256.chainPem, key: p.p256.leaf.keyPem },
        caFile: p.p256.files.root,
        version: "1.3",
        args: ["--tls13-ciphers", s.iana],
        cipher: s.iana,
        group: "X25519",
        helloRetry: false,
        serverCN: "localhost",
      });
    });
  }

  for (const g of GROUPS) {
    test(`group ${g.name} (curl --curves ${g.openssl}): its key share, no HelloRetryRequest`, {
      timeout: CELL_TIMEOUT,
    }, async (t) => {
      const p = await pki();
      await curlCell(t, {
        server: { cert: p.rsa.chainPem, key: p.rsa.leaf.keyPem },
        caFile: p.rsa.files.root,
        version: "1.3",
        args: ["--curves", g.openssl],
        cipher: "TLS_AES_128_GCM_SHA256",
        group: g.name,
        helloRetry: false,
      });
    });
  }

  test('HelloRetryRequest: our server groups ["P-384"], curl (--curves X25519:P-384) sends only an X25519 share', {
    timeout: CELL_TIMEOUT,
  }, async (t) => {
    const p = await pki();
    const conn = await curlCell(t, {
      server: { cert: p.p256.chainPem, key: p.p256.leaf.keyPem, groups: ["P-384"] },
      caFile: p.p256.files.root,
      version: "1.3",
      args: ["--curves", "X25519:P-384"],
      cipher: "TLS_AES_128_GCM_SHA256",
      group: "P-384",
      helloRetry: true,
    });
    if (conn) {
      const hellos = conn.traces.filter((x) => x.direction === "recv" && x.message === "ClientHello");
      assert.deepEqual(
        hellos.map((h) => h.fields.key_share),
        ["X25519", "P-384"],
      );
    }
  });

  for (const k of CERT_KINDS_13) {
    test(`${k.kind} certificate: we sign with ${k.schemeName}`, { timeout: CELL_TIMEOUT }, async (t) => {
      const p = await pki();
      const chain = p[k.kind];
      const conn = await curlCell(t, {
        server: { cert: chain.chainPem, key: chain.leaf.keyPem },
        caFile: chain.files.root,
        version: "1.3",
        cipher: "TLS_AES_128_GCM_SHA256",
        serverCN: "localhost",
      });
      if (conn) assert.equal(conn.info?.signatureScheme, k.scheme);
    });
  }

  test("ALPN http/1.1 negotiated (curl --http1.1, and --http2 against our http/1.1)", {
    timeout: CELL_TIMEOUT,
  }, async (t) => {
    const p = await pki();
    await curlCell(t, {
      server: { cert: p.p256.chainPem, key: p.p256.leaf.keyPem, alpnProtocols: ["h2", "http/1.1"] },
      caFile: p.p256.files.root,
      version: "1.3",
      args: ["--http1.1"],
      cipher: "TLS_AES_128_GCM_SHA256",
      alpn: "http/1.1",
    });
    await curlCell(t, {
      server: { cert: p.p256.chainPem, key: p.p256.leaf.keyPem, alpnProtocols: ["http/1.1"] },
      caFile: p.p256.files.root,
      version: "1.3",
      args: ["--http2"],
      cipher: "TLS_AES_128_GCM_SHA256",
      alpn: "http/1.1",
    });
  });

  test("ALPN without overlap: our server sends no_application_protocol", {
    timeout: CELL_TIMEOUT,
  }, async (t) => {
    const p = await pki();
    await curlFailCell(
      t,
      { cert: p.p256.chainPem, key: p.p256.leaf.keyPem, alpnProtocols: ["h2"] },
      p.p256.files.root,
      ["--http1.1"],
      (ours, stderr) => {
        assert.equal(ours.alertName, "no_application_protocol");
        assert.equal(ours.sentBy, "local");
        assert.match(stderr, /no application protocol/);
      },
      { version: "1.3" },
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
    await curlCell(t, {
      server,
      caFile: other.files.root,
      host: "other.test",
      version: "1.3",
      cipher: "TLS_AES_128_GCM_SHA256",
      serverCN: "other.test",
    });
    await curlCell(t, {
      server,
      caFile: p.p256.files.root,
      version: "1.3",
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
        const conn = await curlCell(t, {
          server: { cert: p.p256.chainPem, key: p.p256.leaf.keyPem, ca: cc.root.certPem, clientAuth: mode },
          caFile: p.p256.files.root,
          version: "1.3",
          args: ["--cert", cc.files.chain, "--key", cc.files.leafKey],
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
    const conn = await curlCell(t, {
      server: {
        cert: p.p256.chainPem,
        key: p.p256.leaf.keyPem,
        ca: p.client.root.certPem,
        clientAuth: "request",
      },
      caFile: p.p256.files.root,
      version: "1.3",
      cipher: "TLS_AES_128_GCM_SHA256",
    });
    if (conn) assert.equal(conn.info?.peerCertificates.length, 0);
  });

  test('no client certificate, our server clientAuth "require": we send certificate_required', {
    timeout: CELL_TIMEOUT,
  }, async (t) => {
    // curl's handshake is complete when our alert arrives (TLS 1.3): it fails reading the response.
    const p = await pki();
    await curlFailCell(
      t,
      { cert: p.p256.chainPem, key: p.p256.leaf.keyPem, ca: p.client.root.certPem, clientAuth: "require" },
      p.p256.files.root,
      [],
      (ours, stderr) => {
        assert.equal(ours.alertName, "certificate_required", ours.message);
        assert.equal(ours.sentBy, "local");
        assert.match(stderr, /alert certificate required/);
      },
      { version: "1.3", exitCode: 56 },
    );
  });

  test("version: our server minVersion TLSv1.3 vs curl --tls-max 1.2: we send protocol_version", {
    timeout: CELL_TIMEOUT,
  }, async (t) => {
    const p = await pki();
    await curlFailCell(
      t,
      { cert: p.p256.chainPem, key: p.p256.leaf.keyPem, minVersion: "TLSv1.3" },
      p.p256.files.root,
      [],
      (ours, stderr) => {
        assert.equal(ours.alertName, "protocol_version", ours.message);
        assert.equal(ours.sentBy, "local");
        assert.match(stderr, /alert protocol version/);
      },
      { version: "1.2" },
    );
  });

  test("version: our server maxVersion TLSv1.2 vs curl --tlsv1.3: we send protocol_version", {
    timeout: CELL_TIMEOUT,
  }, async (t) => {
    const p = await pki();
    await curlFailCell(
      t,
      { cert: p.p256.chainPem, key: p.p256.leaf.keyPem, maxVersion: "TLSv1.2" },
      p.p256.files.root,
      [],
      (ours, stderr) => {
        assert.equal(ours.alertName, "protocol_version", ours.message);
        assert.equal(ours.sentBy, "local");
        assert.match(stderr, /alert protocol version/);
      },
      { version: "1.3" },
    );
  });
});
