/**
 * TypeTLS server against `openssl s_client`: s_client sends a line from stdin, our server answers
 * `echo:<line>` and closes with close_notify; s_client answers with its own and exits 0. The TLS 1.2
 * matrix runs s_client -tls1_2; the TLS 1.3 cells -tls1_3 (KeyUpdate cells use its k/K commands).
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
  extraPki,
  GROUPS,
  groupName,
  lineEcho,
  type Observer,
  ourServer,
  pki,
  RSA_KX_SUITES,
  SIGALGS,
  STEP,
  TLS13_SUITES,
  type Version,
  writeBeside,
} from "./harness.js";
import { killAllPeers, type PeerProcess, requirePeer, spawnPeer } from "./peers.js";

after(killAllPeers);

function hex(b: Uint8Array): string {
  return Buffer.from(b).toString("hex");
}

interface SClientCell {
  server: CreateServerOptions;
  /** s_client arguments after -connect/-servername/-CAfile/-verify_return_error. */
  args?: string[];
  /** SNI and the name s_client verifies (default localhost); null: -noservername, checked by IP. */
  servername?: string | null;
  /** The root s_client trusts. */
  caFile: string;
  /** s_client's version pin: "1.2" (-tls1_2, the TLS 1.2 matrix, default), "1.3" (-tls1_3), "any" (none). */
  version?: PeerVersion;
  /** Expected protocol (default: TLSv1.2 when either side is pinned to 1.2, else TLSv1.3). */
  protocol?: Version;
  cipher: string;
  group?: string;
  /** TLS 1.3: whether our server sent a HelloRetryRequest. */
  helloRetry?: boolean;
  /** Keep s_client's stdin commands (k, K) and do not close after the first answer: `interact` drives it. */
  interact?: (conn: Observer, proc: PeerProcess) => Promise<void>;
  /** The "Server Temp Key:" line s_client prints. */
  tempKey?: string;
  alpn?: string | false;
  serverCN?: string;
  /** More text s_client's stdout must contain. */
  says?: string[];
}

const LINE = "ping from openssl";

/** What s_client is pinned to: -tls1_2 (the TLS 1.2 matrix), -tls1_3, or nothing (it offers both). */
type PeerVersion = "1.2" | "1.3" | "any";

const VERSION_FLAG: Record<PeerVersion, string[]> = { "1.2": ["-tls1_2"], "1.3": ["-tls1_3"], any: [] };

/** Runs one s_client cell; returns our server-side observer of the connection. */
async function sClientCell(t: TestContext, c: SClientCell): Promise<Observer | undefined> {
  if (!requirePeer(t, "openssl")) return undefined;
  const server = await ourServer(c.server);
  server.onConnection = (o) => lineEcho(o, !c.interact);
  const servername = c.servername === null ? undefined : (c.servername ?? "localhost");
  const version = c.version ?? "1.2";
  const expected: Version =
    c.protocol ?? (version === "1.2" || c.server.maxVersion === "TLSv1.2" ? "TLSv1.2" : "TLSv1.3");
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
    ...(c.interact ? [] : ["-nocommands"]),
    ...VERSION_FLAG[version],
    ...(c.args ?? []),
  ]);
  // stdin stays open: s_client would shut down at EOF; here our close_notify ends the session
  // (or, when `interact`, the end of s_client's stdin).
  proc.write(`${LINE}\n`);
  try {
    await cell([server, proc], async () => {
      const conn = await server.secured();
      await conn.receive(`${LINE}\n`);
      if (c.interact) {
        await proc.waitFor(`echo:${LINE}\n`, STEP);
        await c.interact(conn, proc);
        proc.endInput();
      }
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
      assert.equal(info.serverName, servername);
      if (!c.interact) assert.equal(conn.data, `${LINE}\n`);
      conn.assertCleanClose();

      // s_client's side
      assert.equal(st.code, 0, "s_client exits 0");
      const out = proc.stdout;
      assert.ok(
        out.includes(`\nNew, ${expected}, Cipher is ${c.cipher}\n`),
        `s_client reports ${expected} and ${c.cipher}`,
      );
      // the SSL-Session block: TLS 1.2 only (in 1.3 s_client prints it when a ticket arrives; we send none)
      if (expected === "TLSv1.2") {
        assert.ok(out.includes(`\n    Protocol  : ${expected}\n`), `s_client reports ${expected}`);
        assert.ok(out.includes(`\n    Cipher    : ${c.cipher}\n`), `s_client reports cipher ${c.cipher}`);
      }
      assert.match(out, /\nVerification: OK\n/);
      assert.match(out, /Verify return code: 0 \(ok\)/);
      if (expected === "TLSv1.2") assert.match(out, /Extended master secret: yes/);
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
      // s_client writes received data with write(2) but its own report (e.g. a long session
      // ticket dump) through stdio buffers, so our answer may land in the middle of a line.
      assert.ok(out.includes(`echo:${LINE}\n`), "our answer arrived");
      if (!c.interact) assert.match(out, /\nclosed\n/, "s_client saw our close_notify");
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
  version: PeerVersion = "1.2",
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
    ...VERSION_FLAG[version],
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

  test("s_client offering TLS 1.2 and 1.3, our server default: TLSv1.3 negotiated", {
    timeout: CELL_TIMEOUT,
  }, async (t) => {
    const p = await pki();
    await sClientCell(t, {
      server: { cert: p.p256.chainPem, key: p.p256.leaf.keyPem },
      caFile: p.p256.files.root,
      version: "any",
      cipher: "TLS_AES_128_GCM_SHA256",
      group: "X25519",
      helloRetry: false,
    });
  });

  test("s_client offering TLS 1.2 and 1.3, our server maxVersion TLSv1.2: TLSv1.2, s_client raises no alarm", {
    timeout: CELL_TIMEOUT,
  }, async (t) => {
    // A 1.2-only server puts no RFC 8446 §4.1.3 sentinel in its random; s_client would abort if it did.
    const p = await pki();
    const conn = await sClientCell(t, {
      server: { cert: p.p256.chainPem, key: p.p256.leaf.keyPem, maxVersion: "TLSv1.2" },
      caFile: p.p256.files.root,
      version: "any",
      cipher: "ECDHE-ECDSA-AES128-GCM-SHA256",
    });
    if (conn) assert.notEqual(hex(conn.info!.serverRandom.subarray(24, 31)), "444f574e475244", "no DOWNGRD");
  });

  test("s_client -tls1_2 (1.2 only), our server default (max 1.3): TLSv1.2 with the DOWNGRD sentinel", {
    timeout: CELL_TIMEOUT,
  }, async (t) => {
    const p = await pki();
    const conn = await sClientCell(t, {
      server: { cert: p.p256.chainPem, key: p.p256.leaf.keyPem },
      caFile: p.p256.files.root,
      version: "1.2",
      cipher: "ECDHE-ECDSA-AES128-GCM-SHA256",
    });
    // RFC 8446 §4.1.3: a 1.3-capable server negotiating 1.2 ends its random with DOWNGRD\x01
    if (conn) assert.equal(hex(conn.info!.serverRandom.subarray(24)), "444f574e47524401");
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

  test("s_client -tls1_2 -fallback_scsv -status vs our server maxVersion TLSv1.2: accepted (status_request ignored)", {
    timeout: CELL_TIMEOUT,
  }, async (t) => {
    const p = await pki();
    await sClientCell(t, {
      server: { cert: p.p256.chainPem, key: p.p256.leaf.keyPem, maxVersion: "TLSv1.2" },
      caFile: p.p256.files.root,
      args: ["-fallback_scsv", "-status"],
      cipher: "ECDHE-ECDSA-AES128-GCM-SHA256",
    });
  });

  test("s_client -tls1_2 -fallback_scsv vs our server default (max 1.3): inappropriate_fallback (RFC 7507)", {
    timeout: CELL_TIMEOUT,
  }, async (t) => {
    const p = await pki();
    await sClientFailCell(
      t,
      { cert: p.p256.chainPem, key: p.p256.leaf.keyPem },
      ["-fallback_scsv", "-status"],
      p.p256.files.root,
      (ours, out) => {
        assert.equal(ours.alertName, "inappropriate_fallback", ours.message);
        assert.equal(ours.sentBy, "local");
        assert.match(out, /inappropriate fallback|SSL alert number 86/);
      },
    );
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

// ---- TLS 1.3 --------------------------------------------------------------------------------------

const SIG_TYPE: Record<string, string> = { p256: "ECDSA", p384: "ECDSA", rsa: "RSA-PSS", ed25519: "ed25519" };

describe("TypeTLS server vs openssl s_client -tls1_3", { concurrency: 4 }, () => {
  for (const s of TLS13_SUITES) {
    test(`suite ${s.iana} (s_client -ciphersuites)`, { timeout: CELL_TIMEOUT }, async (t) => {
      const p = await pki();
      await sClientCell(t, {
        server: { cert: p.p256.chainPem, key: p.p256.leaf.keyPem },
        caFile: p.p256.files.root,
        version: "1.3",
        args: ["-ciphersuites", s.iana],
        cipher: s.iana,
        group: "X25519",
        helloRetry: false,
        serverCN: "localhost",
      });
    });
    test(`suite ${s.iana} (our cipherSuites), RSA certificate`, { timeout: CELL_TIMEOUT }, async (t) => {
      const p = await pki();
      await sClientCell(t, {
        server: { cert: p.rsa.chainPem, key: p.rsa.leaf.keyPem, cipherSuites: [s.iana] },
        caFile: p.rsa.files.root,
        version: "1.3",
        cipher: s.iana,
      });
    });
  }

  for (const g of GROUPS) {
    test(`group ${g.name} (s_client -groups ${g.openssl}): its key share, no HelloRetryRequest`, {
      timeout: CELL_TIMEOUT,
    }, async (t) => {
      const p = await pki();
      await sClientCell(t, {
        server: { cert: p.p256.chainPem, key: p.p256.leaf.keyPem },
        caFile: p.p256.files.root,
        version: "1.3",
        args: ["-groups", g.openssl],
        cipher: "TLS_AES_128_GCM_SHA256",
        group: g.name,
        tempKey: TEMP_KEY[g.name]!,
        helloRetry: false,
      });
    });
  }

  test('HelloRetryRequest: our server groups ["P-384"], s_client sends only an X25519 share', {
    timeout: CELL_TIMEOUT,
  }, async (t) => {
    const p = await pki();
    const conn = await sClientCell(t, {
      server: { cert: p.p256.chainPem, key: p.p256.leaf.keyPem, groups: ["P-384"] },
      caFile: p.p256.files.root,
      version: "1.3",
      args: ["-groups", "X25519:P-384"],
      cipher: "TLS_AES_128_GCM_SHA256",
      group: "P-384",
      tempKey: TEMP_KEY["P-384"]!,
      helloRetry: true,
    });
    if (conn) {
      // our compatibility CCS right after the HRR (RFC 8446 §D.4), then the second ClientHello
      assert.deepEqual(conn.flow.slice(0, 4), [
        "recv ClientHello",
        "send HelloRetryRequest",
        "send ChangeCipherSpec",
        "recv ClientHello",
      ]);
      const hellos = conn.traces.filter((x) => x.direction === "recv" && x.message === "ClientHello");
      assert.deepEqual(
        hellos.map((h) => h.fields.key_share),
        ["X25519", "P-384"],
        "s_client's shares: X25519 only, then P-384",
      );
    }
  });

  test("our server insists on P-384, s_client offers X25519 only: handshake_failure, no hang", {
    timeout: CELL_TIMEOUT,
  }, async (t) => {
    const p = await pki();
    await sClientFailCell(
      t,
      { cert: p.p256.chainPem, key: p.p256.leaf.keyPem, groups: ["P-384"] },
      ["-groups", "X25519"],
      p.p256.files.root,
      (ours, out) => {
        assert.equal(ours.alertName, "handshake_failure", ours.message);
        assert.equal(ours.sentBy, "local");
        assert.match(out, /alert handshake failure|SSL alert number 40/);
      },
      "1.3",
    );
  });

  for (const k of CERT_KINDS_13) {
    test(`${k.kind} certificate: we sign with ${k.schemeName}`, { timeout: CELL_TIMEOUT }, async (t) => {
      const p = await pki();
      const chain = p[k.kind];
      const conn = await sClientCell(t, {
        server: { cert: chain.chainPem, key: chain.leaf.keyPem },
        caFile: chain.files.root,
        version: "1.3",
        cipher: "TLS_AES_128_GCM_SHA256",
        serverCN: "localhost",
        says: [`\nPeer signature type: ${SIG_TYPE[k.kind]}\n`],
      });
      if (conn) assert.equal(conn.info?.signatureScheme, k.scheme);
    });
  }

  test("RSA-PSS (id-RSASSA-PSS) certificate: we sign with rsa_pss_pss_sha256", {
    timeout: CELL_TIMEOUT,
  }, async (t) => {
    const x = await extraPki();
    const conn = await sClientCell(t, {
      server: { cert: x.rsaPss.chainPem, key: x.rsaPss.leaf.keyPem },
      caFile: x.rsaPss.files.root,
      version: "1.3",
      cipher: "TLS_AES_128_GCM_SHA256",
      serverCN: "localhost",
      says: ["\nPeer signature type: RSA-PSS\n"],
    });
    if (conn) assert.equal(conn.info?.signatureScheme, 0x0809);
  });

  test('Ed25519 client certificate, our server clientAuth "require"', {
    timeout: CELL_TIMEOUT,
  }, async (t) => {
    const p = await pki();
    const x = await extraPki();
    const cc = x.clientEd25519;
    const conn = await sClientCell(t, {
      server: { cert: p.p256.chainPem, key: p.p256.leaf.keyPem, ca: cc.root.certPem, clientAuth: "require" },
      caFile: p.p256.files.root,
      version: "1.3",
      args: ["-cert", cc.files.leaf, "-cert_chain", cc.files.intermediate, "-key", cc.files.leafKey],
      cipher: "TLS_AES_128_GCM_SHA256",
    });
    if (conn) {
      assert.equal(
        conn.info?.peerCertificates[0]?.subject.toString(),
        "CN=typetls client ed25519, O=TypeTLS Test",
      );
      assert.equal(conn.info?.peerVerified, true);
      assert.equal(conn.info?.peerSignatureScheme, 0x0807);
    }
  });

  test("s_client -record_padding 512: padded TLSInnerPlaintext records", {
    timeout: CELL_TIMEOUT,
  }, async (t) => {
    const p = await pki();
    await sClientCell(t, {
      server: { cert: p.p256.chainPem, key: p.p256.leaf.keyPem },
      caFile: p.p256.files.root,
      version: "1.3",
      args: ["-record_padding", "512"],
      cipher: "TLS_AES_128_GCM_SHA256",
    });
  });

  test("s_client -no_middlebox: empty legacy session id, so no ChangeCipherSpec from us", {
    timeout: CELL_TIMEOUT,
  }, async (t) => {
    const p = await pki();
    const conn = await sClientCell(t, {
      server: { cert: p.p256.chainPem, key: p.p256.leaf.keyPem },
      caFile: p.p256.files.root,
      version: "1.3",
      args: ["-no_middlebox"],
      cipher: "TLS_AES_128_GCM_SHA256",
    });
    if (conn) assert.equal(conn.traced("send", "ChangeCipherSpec"), 0);
  });

  test("our server picks the RSA or the ECDSA certificate by the client's signature algorithms", {
    timeout: CELL_TIMEOUT,
  }, async (t) => {
    const p = await pki();
    const server: CreateServerOptions = {
      certificates: [
        { cert: p.p256.chainPem, key: p.p256.leaf.keyPem },
        { cert: p.rsa.chainPem, key: p.rsa.leaf.keyPem },
      ],
    };
    const rsa = await sClientCell(t, {
      server,
      caFile: p.rsa.files.root,
      version: "1.3",
      args: ["-sigalgs", "rsa_pss_rsae_sha256"],
      cipher: "TLS_AES_128_GCM_SHA256",
      says: ["\nPeer signature type: RSA-PSS\n"],
    });
    if (rsa) assert.equal(rsa.info?.signatureScheme, 0x0804);
    const ec = await sClientCell(t, {
      server,
      caFile: p.p256.files.root,
      version: "1.3",
      args: ["-sigalgs", "ecdsa_secp256r1_sha256"],
      cipher: "TLS_AES_128_GCM_SHA256",
      says: ["\nPeer signature type: ECDSA\n"],
    });
    if (ec) assert.equal(ec.info?.signatureScheme, 0x0403);
  });

  test("ALPN h2 and http/1.1 negotiated", { timeout: CELL_TIMEOUT }, async (t) => {
    const p = await pki();
    for (const proto of ["h2", "http/1.1"]) {
      await sClientCell(t, {
        server: { cert: p.p256.chainPem, key: p.p256.leaf.keyPem, alpnProtocols: ["h2", "http/1.1"] },
        caFile: p.p256.files.root,
        version: "1.3",
        args: ["-alpn", proto],
        cipher: "TLS_AES_128_GCM_SHA256",
        alpn: proto,
      });
    }
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
      "1.3",
    );
  });

  test("SNI: our server picks the certificate by name; -noservername gets the first", {
    timeout: CELL_TIMEOUT,
  }, async (t) => {
    const p = await pki();
    const other = await makeChain({ key: "p256", hosts: ["other.test"], ips: [] });
    const server: CreateServerOptions = {
      certificates: [
        { cert: p.p256.chainPem, key: p.p256.leaf.keyPem },
        { cert: other.chainPem, key: other.leaf.keyPem },
      ],
    };
    const cases: { servername: string | null; ca: string; cn: string }[] = [
      { servername: "other.test", ca: other.files.root, cn: "other.test" },
      { servername: "localhost", ca: p.p256.files.root, cn: "localhost" },
      { servername: null, ca: p.p256.files.root, cn: "localhost" },
    ];
    for (const x of cases) {
      await sClientCell(t, {
        server,
        servername: x.servername,
        caFile: x.ca,
        version: "1.3",
        cipher: "TLS_AES_128_GCM_SHA256",
        serverCN: x.cn,
      });
    }
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
          version: "1.3",
          args: ["-cert", cc.files.leaf, "-cert_chain", cc.files.intermediate, "-key", cc.files.leafKey],
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
      version: "1.3",
      cipher: "TLS_AES_128_GCM_SHA256",
    });
    if (conn) {
      assert.equal(conn.info?.peerCertificates.length, 0);
      assert.equal(conn.info?.peerVerified, false);
    }
  });

  test('no client certificate, our server clientAuth "require": we send certificate_required', {
    timeout: CELL_TIMEOUT,
  }, async (t) => {
    const p = await pki();
    await sClientFailCell(
      t,
      { cert: p.p256.chainPem, key: p.p256.leaf.keyPem, ca: p.client.root.certPem, clientAuth: "require" },
      [],
      p.p256.files.root,
      (ours, out) => {
        assert.equal(ours.alertName, "certificate_required", ours.message);
        assert.equal(ours.sentBy, "local");
        assert.equal(ours.code, "ERR_TLS_CLIENT_CERT_REQUIRED");
        assert.match(out, /alert certificate required|SSL alert number 116/);
      },
      "1.3",
    );
  });

  for (const cmd of ["k", "K"] as const) {
    test(`KeyUpdate from s_client (command "${cmd}"), then data both ways`, {
      timeout: CELL_TIMEOUT,
    }, async (t) => {
      const p = await pki();
      const conn = await sClientCell(t, {
        server: { cert: p.p256.chainPem, key: p.p256.leaf.keyPem },
        caFile: p.p256.files.root,
        version: "1.3",
        cipher: "TLS_AES_128_GCM_SHA256",
        interact: async (c, proc) => {
          proc.write(`${cmd}\n`);
          await proc.waitFor("KEYUPDATE", STEP);
          await c.until(() => c.traced("recv", "KeyUpdate") > 0, STEP, "s_client's KeyUpdate");
          proc.write("after the KeyUpdate\n");
          await proc.waitFor("echo:after the KeyUpdate\n", STEP);
        },
      });
      if (conn) {
        assert.equal(conn.data, `${LINE}\nafter the KeyUpdate\n`);
        assert.deepEqual(
          conn.traces
            .filter((x) => x.message === "KeyUpdate")
            .map((x) => `${x.direction} ${x.fields.request}`),
          cmd === "K"
            ? ["recv update_requested", "send update_not_requested"]
            : ["recv update_not_requested"],
        );
      }
    });
  }

  test("KeyUpdate from our server (updateKeys(true)): s_client answers with its own", {
    timeout: CELL_TIMEOUT,
  }, async (t) => {
    const p = await pki();
    const conn = await sClientCell(t, {
      server: { cert: p.p256.chainPem, key: p.p256.leaf.keyPem },
      caFile: p.p256.files.root,
      version: "1.3",
      cipher: "TLS_AES_128_GCM_SHA256",
      interact: async (c, proc) => {
        c.sock.updateKeys(true);
        c.sock.write("server data after our KeyUpdate\n");
        await proc.waitFor("server data after our KeyUpdate\n", STEP);
        proc.write("client data after both KeyUpdates\n");
        await c.receive("client data after both KeyUpdates\n");
        await proc.waitFor("echo:client data after both KeyUpdates\n", STEP);
      },
    });
    if (conn) {
      assert.deepEqual(
        conn.traces.filter((x) => x.message === "KeyUpdate").map((x) => `${x.direction} ${x.fields.request}`),
        ["send update_requested", "recv update_not_requested"],
      );
    }
  });
});

describe("version negotiation vs openssl s_client", { concurrency: 4 }, () => {
  test("our server minVersion TLSv1.3 vs s_client -tls1_2: we send protocol_version", {
    timeout: CELL_TIMEOUT,
  }, async (t) => {
    const p = await pki();
    await sClientFailCell(
      t,
      { cert: p.p256.chainPem, key: p.p256.leaf.keyPem, minVersion: "TLSv1.3" },
      [],
      p.p256.files.root,
      (ours, out) => {
        assert.equal(ours.alertName, "protocol_version", ours.message);
        assert.equal(ours.sentBy, "local");
        assert.match(out, /alert protocol version|SSL alert number 70/);
      },
      "1.2",
    );
  });

  test("our server maxVersion TLSv1.2 vs s_client -tls1_3: we send protocol_version", {
    timeout: CELL_TIMEOUT,
  }, async (t) => {
    const p = await pki();
    await sClientFailCell(
      t,
      { cert: p.p256.chainPem, key: p.p256.leaf.keyPem, maxVersion: "TLSv1.2" },
      [],
      p.p256.files.root,
      (ours, out) => {
        assert.equal(ours.alertName, "protocol_version", ours.message);
        assert.equal(ours.sentBy, "local");
        assert.match(out, /alert protocol version|SSL alert number 70/);
      },
      "1.3",
    );
  });

  test("our server minVersion TLSv1.3 vs s_client -tls1_3: TLSv1.3", { timeout: CELL_TIMEOUT }, async (t) => {
    const p = await pki();
    await sClientCell(t, {
      server: { cert: p.p256.chainPem, key: p.p256.leaf.keyPem, minVersion: "TLSv1.3" },
      caFile: p.p256.files.root,
      version: "1.3",
      cipher: "TLS_AES_128_GCM_SHA256",
    });
  });

  test("our server default vs s_client -tls1_2 (no -fallback_scsv): TLSv1.2", {
    timeout: CELL_TIMEOUT,
  }, async (t) => {
    const p = await pki();
    await sClientCell(t, {
      server: { cert: p.p256.chainPem, key: p.p256.leaf.keyPem },
      caFile: p.p256.files.root,
      version: "1.2",
      cipher: "ECDHE-ECDSA-AES128-GCM-SHA256",
    });
  });
});
