/**
 * TypeTLS server against `openssl s_client`: s_client sends a line from stdin, our server answers
 * `echo:<line>` and closes with close_notify; s_client answers with its own and exits 0.
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
  lineEcho,
  type Observer,
  ourServer,
  pki,
  RSA_KX_SUITES,
  SIGALGS,
  STEP,
  writeBeside,
} from "./harness.js";
import { killAllPeers, requirePeer, spawnPeer } from "./peers.js";

after(killAllPeers);

interface SClientCell {
  server: CreateServerOptions;
  /** s_client arguments after -connect/-servername/-CAfile/-verify_return_error. */
  args?: string[];
  /** SNI and the name s_client verifies (default localhost); null: -noservername, checked by IP. */
  servername?: string | null;
  /** The root s_client trusts. */
  caFile: string;
  /** Leave out -tls1_2 (s_client offers TLS 1.3 as well). */
  anyVersion?: boolean;
  cipher: string;
  group?: string;
  /** The "Server Temp Key:" line s_client prints. */
  tempKey?: string;
  alpn?: string | false;
  serverCN?: string;
  /** More text s_client's stdout must contain. */
  says?: string[];
}

const LINE = "ping from openssl";

/** Runs one s_client cell; returns our server-side observer of the connection. */
async function sClientCell(t: TestContext, c: SClientCell): Promise<Observer | undefined> {
  if (!requirePeer(t, "openssl")) return undefined;
  const server = await ourServer(c.server);
  server.onConnection = (o) => lineEcho(o, true);
  const servername = c.servername === null ? undefined : (c.servername ?? "localhost");
  const proc = spawnPeer("openssl", [
    "s_client",
    "-connect",
    `127.0.0.1:${server.port}`,
    ...(servername
      ? ["-servername", servername, "-verify_hostname", servername]
      : ["-noservername", "-verify_ip", "127.0.0.1"]),
    "-CAfile",
    c.caFile,
    "-verify_return_error",
    "-nocommands",
    ...(c.anyVersion ? [] : ["-tls1_2"]),
    ...(c.args ?? []),
  ]);
  // stdin stays open: s_client would shut down at EOF; here our close_notify ends the session.
  proc.write(`${LINE}\n`);
  try {
    await cell([server, proc], async () => {
      const conn = await server.secured();
      await conn.receive(`${LINE}\n`);
      const st = await proc.waitExit(STEP);
      await conn.waitClosed();
      const info = conn.info!;

      // our side
      assert.equal(info.protocol, "TLSv1.2");
      assert.equal(conn.sock.getCipher()?.name, c.cipher);
      if (c.group) assert.equal(info.group === undefined ? "none" : groupName(info.group), c.group);
      if (c.alpn !== undefined) assert.equal(conn.sock.alpnProtocol, c.alpn);
      assert.equal(info.serverName, servername);
      assert.equal(conn.data, `${LINE}\n`);
      conn.assertCleanClose();

      // s_client's side
      assert.equal(st.code, 0, "s_client exits 0");
      const out = proc.stdout;
      assert.match(out, /\n {4}Protocol {2}: TLSv1\.2\n/);
      assert.ok(out.includes(`\n    Cipher    : ${c.cipher}\n`), `s_client reports cipher ${c.cipher}`);
      assert.match(out, /\nVerification: OK\n/);
      assert.match(out, /Verify return code: 0 \(ok\)/);
      assert.match(out, /Extended master secret: yes/);
      if (c.tempKey)
        assert.ok(out.includes(`\nServer Temp Key: ${c.tempKey}\n`), `Server Temp Key: ${c.tempKey}`);
      if (c.alpn !== undefined)
        assert.ok(
          out.includes(c.alpn ? `\nALPN protocol: ${c.alpn}\n` : "\nNo ALPN negotiated\n"),
          "ALPN line",
        );
      if (c.serverCN)
        assert.ok(out.includes(`\nsubject=CN = ${c.serverCN}, O = TypeTLS Test\n`), "server subject");
      for (const x of c.says ?? []) assert.ok(out.includes(x), `s_client should print ${JSON.stringify(x)}`);
      assert.ok(out.includes(`\necho:${LINE}\n`), "our answer arrived");
      assert.match(out, /\nclosed\n/, "s_client saw our close_notify");
    });
    return server.conns.find((o) => o.info);
  } finally {
    await proc.kill();
    await server.close();
  }
}

/** A cell that must fail: returns our server's error and s_client's output. */
async function sClientFailCell(
  t: TestContext,
  server: CreateServerOptions,
  args: string[],
  caFile: string,
  check: (ours: { code?: string; alertName?: string; sentBy?: string; message: string }, out: string) => void,
): Promise<void> {
  if (!requirePeer(t, "openssl")) return;
  const srv = await ourServer(server);
  srv.onConnection = (o) => lineEcho(o, true);
  const proc = spawnPeer("openssl", [
    "s_client",
    "-connect",
    `127.0.0.1:${srv.port}`,
    "-servername",
    "localhost",
    "-CAfile",
    caFile,
    "-verify_return_error",
    "-nocommands",
    "-tls1_2",
    ...args,
  ]);
  proc.write(`${LINE}\n`);
  try {
    await cell([srv, proc], async () => {
      const err = await srv.failed();
      const st = await proc.waitExit(STEP);
      assert.notEqual(st.code, 0, "s_client fails");
      assert.equal(
        srv.conns.some((o) => o.info),
        false,
        "no handshake completed",
      );
      check(err, proc.output);
    });
  } finally {
    await proc.kill();
    await srv.close();
  }
}

const TEMP_KEY: Record<string, string> = {
  X25519: "X25519, 253 bits",
  "P-256": "ECDH, prime256v1, 256 bits",
  "P-384": "ECDH, secp384r1, 384 bits",
};

describe("TypeTLS server vs openssl s_client", { concurrency: 4 }, () => {
  for (const s of [...ECDHE_SUITES, ...RSA_KX_SUITES]) {
    test(`suite ${s.iana}`, { timeout: CELL_TIMEOUT }, async (t) => {
      const p = await pki();
      const chain = chainFor(p, s);
      await sClientCell(t, {
        server: {
          cert: chain.chainPem,
          key: chain.leaf.keyPem,
          ...(s.auth === "RSA-KX" ? { enableLegacyRsaKeyExchange: true } : {}),
        },
        caFile: chain.files.root,
        args: ["-cipher", s.openssl],
        cipher: s.openssl,
        serverCN: "localhost",
      });
    });
  }

  for (const g of GROUPS) {
    test(`group ${g.name} (s_client -curves ${g.openssl})`, { timeout: CELL_TIMEOUT }, async (t) => {
      const p = await pki();
      await sClientCell(t, {
        server: { cert: p.rsa.chainPem, key: p.rsa.leaf.keyPem },
        caFile: p.rsa.files.root,
        args: ["-curves", g.openssl],
        cipher: "ECDHE-RSA-AES128-GCM-SHA256",
        group: g.name,
        tempKey: TEMP_KEY[g.name]!,
      });
    });
  }

  test("ECDSA P-384 certificate (s_client -curves secp384r1)", { timeout: CELL_TIMEOUT }, async (t) => {
    const p = await pki();
    await sClientCell(t, {
      server: { cert: p.p384.chainPem, key: p.p384.leaf.keyPem },
      caFile: p.p384.files.root,
      args: ["-curves", "secp384r1", "-cipher", "ECDHE-ECDSA-AES256-GCM-SHA384"],
      cipher: "ECDHE-ECDSA-AES256-GCM-SHA384",
      group: "P-384",
      tempKey: TEMP_KEY["P-384"]!,
      serverCN: "localhost",
    });
  });

  test("Ed25519 certificate", { timeout: CELL_TIMEOUT }, async (t) => {
    const p = await pki();
    const conn = await sClientCell(t, {
      server: { cert: p.ed25519.chainPem, key: p.ed25519.leaf.keyPem },
      caFile: p.ed25519.files.root,
      args: ["-sigalgs", "ed25519"],
      cipher: "ECDHE-ECDSA-AES128-GCM-SHA256",
      serverCN: "localhost",
    });
    if (conn) assert.equal(conn.info?.signatureScheme, 0x0807, "we signed with ed25519");
  });

  for (const sa of SIGALGS) {
    test(`signature algorithm ${sa.openssl} (s_client -sigalgs), ${sa.cert} certificate`, {
      timeout: CELL_TIMEOUT,
    }, async (t) => {
      const p = await pki();
      const chain = p[sa.cert];
      const ecdsa = sa.cert !== "rsa";
      const conn = await sClientCell(t, {
        server: { cert: chain.chainPem, key: chain.leaf.keyPem },
        caFile: chain.files.root,
        args: ["-sigalgs", sa.openssl],
        cipher: ecdsa ? "ECDHE-ECDSA-AES128-GCM-SHA256" : "ECDHE-RSA-AES128-GCM-SHA256",
        says: [`\nPeer signing digest: ${sa.digest}\n`, `\nPeer signature type: ${sa.type}\n`],
      });
      if (conn) assert.equal(conn.info?.signatureScheme, sa.scheme);
    });
  }

  test("s_client offering TLS 1.3 too: TLS 1.2 is negotiated", { timeout: CELL_TIMEOUT }, async (t) => {
    const p = await pki();
    await sClientCell(t, {
      server: { cert: p.p256.chainPem, key: p.p256.leaf.keyPem },
      caFile: p.p256.files.root,
      anyVersion: true,
      cipher: "ECDHE-ECDSA-AES128-GCM-SHA256",
    });
  });

  test("s_client -noservername: no SNI, our server uses its first certificate", {
    timeout: CELL_TIMEOUT,
  }, async (t) => {
    const p = await pki();
    const other = await makeChain({ key: "p256", hosts: ["other.test"], ips: [] });
    const conn = await sClientCell(t, {
      server: {
        certificates: [
          { cert: p.p256.chainPem, key: p.p256.leaf.keyPem },
          { cert: other.chainPem, key: other.leaf.keyPem },
        ],
      },
      servername: null,
      caFile: p.p256.files.root,
      cipher: "ECDHE-ECDSA-AES128-GCM-SHA256",
      serverCN: "localhost",
    });
    if (conn) assert.equal(conn.info?.serverName, undefined);
  });

  test("s_client -fallback_scsv -status (max version 1.2 = ours: no inappropriate_fallback; status_request ignored)", {
    timeout: CELL_TIMEOUT,
  }, async (t) => {
    const p = await pki();
    await sClientCell(t, {
      server: { cert: p.p256.chainPem, key: p.p256.leaf.keyPem },
      caFile: p.p256.files.root,
      args: ["-fallback_scsv", "-status"],
      cipher: "ECDHE-ECDSA-AES128-GCM-SHA256",
    });
  });

  test("ALPN h2 negotiated", { timeout: CELL_TIMEOUT }, async (t) => {
    const p = await pki();
    await sClientCell(t, {
      server: { cert: p.p256.chainPem, key: p.p256.leaf.keyPem, alpnProtocols: ["h2", "http/1.1"] },
      caFile: p.p256.files.root,
      args: ["-alpn", "h2,http/1.1"],
      cipher: "ECDHE-ECDSA-AES128-GCM-SHA256",
      alpn: "h2",
    });
  });

  test("ALPN http/1.1 negotiated", { timeout: CELL_TIMEOUT }, async (t) => {
    const p = await pki();
    await sClientCell(t, {
      server: { cert: p.p256.chainPem, key: p.p256.leaf.keyPem, alpnProtocols: ["h2", "http/1.1"] },
      caFile: p.p256.files.root,
      args: ["-alpn", "http/1.1"],
      cipher: "ECDHE-ECDSA-AES128-GCM-SHA256",
      alpn: "http/1.1",
    });
  });

  test("ALPN without overlap: our server sends no_application_protocol", {
    timeout: CELL_TIMEOUT,
  }, async (t) => {
    const p = await pki();
    await sClientFailCell(
      t,
      { cert: p.p256.chainPem, key: p.p256.leaf.keyPem, alpnProtocols: ["h2"] },
      ["-alpn", "http/1.1"],
      p.p256.files.root,
      (ours, out) => {
        assert.equal(ours.alertName, "no_application_protocol");
        assert.equal(ours.sentBy, "local");
        assert.match(out, /alert no application protocol|SSL alert number 120/);
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
    await sClientCell(t, {
      server,
      servername: "other.test",
      caFile: other.files.root,
      cipher: "ECDHE-ECDSA-AES128-GCM-SHA256",
      serverCN: "other.test",
    });
    await sClientCell(t, {
      server,
      servername: "localhost",
      caFile: p.p256.files.root,
      cipher: "ECDHE-ECDSA-AES128-GCM-SHA256",
      serverCN: "localhost",
    });
  });

  test("our server picks the RSA or the ECDSA certificate by the suite", {
    timeout: CELL_TIMEOUT,
  }, async (t) => {
    const p = await pki();
    const server: CreateServerOptions = {
      certificates: [
        { cert: p.p256.chainPem, key: p.p256.leaf.keyPem },
        { cert: p.rsa.chainPem, key: p.rsa.leaf.keyPem },
      ],
    };
    await sClientCell(t, {
      server,
      caFile: p.rsa.files.root,
      args: ["-cipher", "ECDHE-RSA-AES256-GCM-SHA384"],
      cipher: "ECDHE-RSA-AES256-GCM-SHA384",
    });
    await sClientCell(t, {
      server,
      caFile: p.p256.files.root,
      args: ["-cipher", "ECDHE-ECDSA-AES256-GCM-SHA384"],
      cipher: "ECDHE-ECDSA-AES256-GCM-SHA384",
    });
  });

  test("TLS 1.2 certificate curve: a client without P-256 in supported_groups gets the RSA certificate", {
    timeout: CELL_TIMEOUT,
  }, async (t) => {
    // RFC 8422 §5.1: the server must not pick an ECC suite it cannot complete with the client's
    // curves, and in TLS 1.2 those also constrain the ECDSA certificate's curve. OpenSSL checks it
    // (tls12_check_peer_sigalg "wrong curve").
    const p = await pki();
    await sClientCell(t, {
      server: {
        certificates: [
          { cert: p.p256.chainPem, key: p.p256.leaf.keyPem },
          { cert: p.rsa.chainPem, key: p.rsa.leaf.keyPem },
        ],
      },
      caFile: writeBeside(p.rsa, "roots-rsa-p256.pem", p.rsa.root.certPem + p.p256.root.certPem),
      args: ["-curves", "X25519", "-cipher", "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256"],
      cipher: "ECDHE-RSA-AES128-GCM-SHA256",
      group: "X25519",
    });
  });

  for (const mode of ["request", "require"] as const) {
    for (const kind of ["client", "clientRsa"] as const) {
      test(`client certificate (${kind}), our server clientAuth "${mode}"`, {
        timeout: CELL_TIMEOUT,
      }, async (t) => {
        const p = await pki();
        const cc = p[kind];
        const conn = await sClientCell(t, {
          server: { cert: p.p256.chainPem, key: p.p256.leaf.keyPem, ca: cc.root.certPem, clientAuth: mode },
          caFile: p.p256.files.root,
          args: ["-cert", cc.files.leaf, "-cert_chain", cc.files.intermediate, "-key", cc.files.leafKey],
          cipher: "ECDHE-ECDSA-AES128-GCM-SHA256",
        });
        if (conn) {
          const cn = kind === "client" ? "typetls client" : "typetls client rsa";
          assert.equal(conn.info?.peerCertificates[0]?.subject.toString(), `CN=${cn}, O=TypeTLS Test`);
          assert.equal(conn.info?.peerVerified, true);
          assert.equal(conn.sock.authorized, true);
        }
      });
    }
  }

  test('no client certificate, our server clientAuth "request": handshake completes', {
    timeout: CELL_TIMEOUT,
  }, async (t) => {
    const p = await pki();
    const conn = await sClientCell(t, {
      server: {
        cert: p.p256.chainPem,
        key: p.p256.leaf.keyPem,
        ca: p.client.root.certPem,
        clientAuth: "request",
      },
      caFile: p.p256.files.root,
      cipher: "ECDHE-ECDSA-AES128-GCM-SHA256",
    });
    if (conn) {
      assert.equal(conn.info?.peerCertificates.length, 0);
      assert.equal(conn.info?.peerVerified, false);
    }
  });

  test('no client certificate, our server clientAuth "require": we send handshake_failure', {
    timeout: CELL_TIMEOUT,
  }, async (t) => {
    const p = await pki();
    await sClientFailCell(
      t,
      { cert: p.p256.chainPem, key: p.p256.leaf.keyPem, ca: p.client.root.certPem, clientAuth: "require" },
      [],
      p.p256.files.root,
      (ours, out) => {
        assert.equal(ours.alertName, "handshake_failure");
        assert.equal(ours.sentBy, "local");
        assert.match(out, /alert handshake failure|SSL alert number 40/);
      },
    );
  });
});

describe("renegotiation", () => {
  test("s_client asks to renegotiate (R): our server answers no_renegotiation", {
    timeout: CELL_TIMEOUT,
  }, async (t) => {
    // RFC 5246 §7.2.2: a server that does not renegotiate answers the new ClientHello with a
    // no_renegotiation warning; the client then decides (OpenSSL gives up with handshake_failure).
    if (!requirePeer(t, "openssl")) return;
    const p = await pki();
    const server = await ourServer({ cert: p.p256.chainPem, key: p.p256.leaf.keyPem });
    server.onConnection = (o) => lineEcho(o, false);
    const proc = spawnPeer("openssl", [
      "s_client",
      "-connect",
      `127.0.0.1:${server.port}`,
      "-servername",
      "localhost",
      "-CAfile",
      p.p256.files.root,
      "-tls1_2",
    ]);
    proc.write("first\n");
    try {
      await cell([server, proc], async () => {
        const conn = await server.secured();
        await proc.waitFor("echo:first\n", STEP);
        proc.write("R\n");
        const st = await proc.waitExit(STEP);
        await conn.waitClosed();
        const sent = conn.alerts.filter((a) => a.sentBy === "local").map((a) => `${a.name}/${a.level}`);
        assert.deepEqual(sent, ["no_renegotiation/1"], "one warning alert from us, nothing fatal");
        assert.match(proc.stderr, /RENEGOTIATING/);
        assert.match(proc.stderr, /no renegotiation/);
        assert.notEqual(st.code, 0);
      });
    } finally {
      await proc.kill();
      await server.close();
    }
  });
});
