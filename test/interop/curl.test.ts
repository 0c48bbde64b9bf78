/**
 * TypeTLS server against curl (OpenSSL backend): curl sends an HTTP/1.1 request, our server answers
 * with a minimal HTTP response and close_notify.
 */
import assert from "node:assert/strict";
import { after, describe, type TestContext, test } from "node:test";
import type { CreateServerOptions } from "../../src/index.js";
import { makeChain } from "../fixtures/pki.js";
import {
  CELL_TIMEOUT,
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

interface CurlCell {
  server: CreateServerOptions;
  caFile: string;
  host?: string;
  args?: string[];
  /** Leave out --tlsv1.2 --tls-max 1.2. */
  anyVersion?: boolean;
  cipher: string;
  group?: string;
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
  const proc = spawnPeer("curl", [
    "-sS",
    "-v",
    "--no-progress-meter",
    "--cacert",
    c.caFile,
    "--resolve",
    `${host}:${server.port}:127.0.0.1`,
    ...(c.anyVersion ? [] : ["--tlsv1.2", "--tls-max", "1.2"]),
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
      assert.equal(info.protocol, "TLSv1.2");
      assert.equal(conn.sock.getCipher()?.name, c.cipher);
      if (c.group) assert.equal(info.group === undefined ? "none" : groupName(info.group), c.group);
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
        proc.stderr.includes(`* SSL connection using TLSv1.2 / ${c.cipher}\n`),
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
    "--tlsv1.2",
    "--tls-max",
    "1.2",
    "--max-time",
    String(STEP / 1000),
    ...args,
    `https://localhost:${server.port}/`,
  ]);
  try {
    await cell([server, proc], async () => {
      const err = await server.failed();
      const st = await proc.waitExit(STEP);
      assert.equal(st.code, 35, "curl: CURLE_SSL_CONNECT_ERROR");
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

  test("curl offering TLS 1.3 too: TLS 1.2 is negotiated", { timeout: CELL_TIMEOUT }, async (t) => {
    const p = await pki();
    await curlCell(t, {
      server: { cert: p.p256.chainPem, key: p.p256.leaf.keyPem },
      caFile: p.p256.files.root,
      anyVersion: true,
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
