/**
 * Node's own TLS (node:tls, i.e. the OpenSSL inside Node) in both roles, in-process: a different
 * implementation from ours, with the richest view of what it negotiated. The TLS 1.2 matrix pins
 * node to 1.2 (min = max = TLSv1.2); the TLS 1.3 cells to 1.3. node:tls has no API to send a
 * KeyUpdate, but its OpenSSL answers ours.
 */
import assert from "node:assert/strict";
import type { AddressInfo } from "node:net";
import { after, describe, test } from "node:test";
import * as tls from "node:tls";
import type { ConnectOptions, CreateServerOptions } from "../../src/index.js";
import { type Chain, makeChain } from "../fixtures/pki.js";
import {
  CELL_TIMEOUT,
  CERT_KINDS_13,
  cell,
  chainFor,
  type Describable,
  ECDHE_SUITES,
  GROUPS,
  groupName,
  type Observer,
  ourClient,
  ourServer,
  pki,
  RSA_KX_SUITES,
  STEP,
  TLS13_SUITES,
  type Version,
  within,
} from "./harness.js";

/** Records a node:tls socket's view. */
class NodeSide implements Describable {
  readonly log: string[] = [];
  data = "";
  error: (Error & { code?: string }) | undefined;
  secure = false;
  ended = false;
  closed = false;
  protocol: string | null = null;
  cipher: tls.CipherNameAndProtocol | undefined;
  ephemeral: tls.EphemeralKeyInfo | object | null = null;
  alpn: string | false | null = null;
  servername: string | false | undefined;
  peerCN: string | undefined;
  authorized = false;
  authorizationError: string | undefined;
  private readonly t0 = Date.now();
  private waiters: (() => void)[] = [];

  constructor(readonly label: string) {}

  attach(s: tls.TLSSocket, role: "client" | "server"): void {
    s.on(role === "client" ? "secureConnect" : "secure", () => this.onSecure(s));
    s.on("data", (d: Buffer) => {
      this.data += d.toString("utf8");
      this.note(`data ${JSON.stringify(d.toString("utf8"))}`);
    });
    s.on("end", () => {
      this.ended = true;
      this.note("end (close_notify / EOF from TypeTLS)");
    });
    s.on("error", (e: Error & { code?: string }) => {
      this.error ??= e;
      this.note(`error ${e.code ?? ""}: ${e.message}`);
    });
    s.on("close", () => {
      this.closed = true;
      this.note("close");
    });
  }

  onSecure(s: tls.TLSSocket): void {
    this.secure = true;
    this.protocol = s.getProtocol();
    this.cipher = s.getCipher();
    this.ephemeral = s.getEphemeralKeyInfo();
    this.alpn = s.alpnProtocol ?? false;
    this.servername = (s as tls.TLSSocket & { servername?: string | false }).servername;
    const pc = s.getPeerCertificate();
    const cn: string | string[] | undefined = pc && "subject" in pc && pc.subject ? pc.subject.CN : undefined;
    this.peerCN = Array.isArray(cn) ? cn.join(",") : cn;
    this.authorized = s.authorized;
    this.authorizationError = s.authorizationError?.message ?? (s.authorizationError as unknown as string);
    this.note(
      `secure ${this.protocol} ${this.cipher?.name} ${JSON.stringify(this.ephemeral)} alpn=${this.alpn} sni=${this.servername} peer=${this.peerCN} authorized=${this.authorized} ${this.authorizationError ?? ""}`,
    );
  }

  note(s: string): void {
    this.log.push(`+${Date.now() - this.t0}ms ${s}`);
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  until(cond: () => boolean, ms: number, what: string): Promise<void> {
    return within(
      ms,
      `${what} on node ${this.label}`,
      new Promise<void>((resolve) => {
        const check = (): void => {
          if (cond()) resolve();
          else this.waiters.push(check);
        };
        check();
      }),
    );
  }

  transcript(): string {
    return `--- node:tls ${this.label}:\n${this.log.join("\n")}\n---`;
  }
}

const servers = new Set<tls.Server>();
after(() => {
  for (const s of servers) s.close();
});

async function nodeServer(
  opts: tls.TlsOptions,
  side: NodeSide,
  onSecure: (s: tls.TLSSocket) => void,
): Promise<{ server: tls.Server; port: number }> {
  const server = tls.createServer(opts);
  servers.add(server);
  server.on("connection", () => side.note("TCP connection"));
  server.on("secureConnection", (s) => {
    side.attach(s, "server");
    side.onSecure(s);
    onSecure(s);
  });
  server.on("tlsClientError", (e: Error & { code?: string }) => {
    side.error ??= e;
    side.note(`tlsClientError ${e.code ?? ""}: ${e.message}`);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { server, port: (server.address() as AddressInfo).port };
}

function closeServer(server: tls.Server): Promise<void> {
  servers.delete(server);
  return new Promise((r) => server.close(() => r()));
}

function baseServer(chain: Chain): tls.TlsOptions {
  return { cert: chain.chainPem, key: chain.leaf.keyPem, minVersion: "TLSv1.2", maxVersion: "TLSv1.2" };
}

// ---- TypeTLS client vs node:tls server ---------------------------------------------------------

interface NodeServerCell {
  chain: Chain;
  node?: tls.TlsOptions;
  client?: Partial<ConnectOptions>;
  ca?: string;
  /** Expected protocol (default TLSv1.2: the TLS 1.2 matrix). */
  protocol?: Version;
  /** TLS 1.3: whether node sent a HelloRetryRequest. */
  helloRetry?: boolean;
  /** Runs after the first line was answered, before a second one and the close (KeyUpdate cells). */
  midway?: (ours: Observer) => Promise<void>;
  cipher: string;
  group?: string;
  alpn?: string | false;
  serverCN?: string;
}

async function nodeServerCell(c: NodeServerCell): Promise<{ ours: Observer; node: NodeSide }> {
  const node = new NodeSide("server");
  const { server, port } = await nodeServer({ ...baseServer(c.chain), ...c.node }, node, (s) => {
    let buf = "";
    s.on("data", (d: Buffer) => {
      buf += d.toString("utf8");
      if (buf.endsWith("\n")) {
        s.write(`node:${buf}`);
        buf = "";
      }
    });
  });
  const ours = ourClient({ port, servername: "localhost", ca: c.ca ?? c.chain.root.certPem, ...c.client });
  const expected: Version = c.protocol ?? "TLSv1.2";
  try {
    await cell([ours, node], async () => {
      const info = await ours.secure();
      const line = `hello node from typetls ${c.cipher}\n`;
      ours.sock.write(line);
      await ours.receive(`node:${line}`);
      let sent = line;
      if (c.midway) {
        await c.midway(ours);
        const line2 = `second line from typetls ${c.cipher}\n`;
        ours.sock.write(line2);
        sent += line2;
        await ours.receive(`node:${line2}`);
      }
      ours.sock.end();
      await ours.waitClosed();
      await node.until(() => node.closed, STEP, "close");

      assert.equal(info.protocol, expected);
      assert.equal(ours.sock.getCipher()?.name, c.cipher);
      if (c.group) assert.equal(info.group === undefined ? "none" : groupName(info.group), c.group);
      if (c.helloRetry !== undefined) {
        assert.equal(info.helloRetry === true, c.helloRetry, "helloRetry");
        assert.equal(ours.traced("recv", "HelloRetryRequest"), c.helloRetry ? 1 : 0);
      }
      if (c.alpn !== undefined) assert.equal(ours.sock.alpnProtocol, c.alpn);
      if (c.serverCN)
        assert.equal(info.peerCertificates[0]?.subject.toString(), `CN=${c.serverCN}, O=TypeTLS Test`);
      assert.equal(
        ours.data,
        sent
          .split("\n")
          .filter(Boolean)
          .map((l) => `node:${l}\n`)
          .join(""),
      );
      ours.assertCleanClose();

      assert.equal(node.protocol, expected);
      assert.equal(node.cipher?.name, c.cipher);
      if (c.alpn !== undefined) assert.equal(node.alpn, c.alpn);
      assert.equal(node.data, sent);
      assert.ok(node.ended, "node saw our close_notify");
      assert.equal(node.error, undefined);
    });
  } finally {
    ours.sock.destroy();
    await closeServer(server);
  }
  return { ours, node };
}

describe("TypeTLS client vs node:tls server", { concurrency: 4 }, () => {
  for (const s of [...ECDHE_SUITES, ...RSA_KX_SUITES]) {
    test(`suite ${s.iana}`, { timeout: CELL_TIMEOUT }, async () => {
      const p = await pki();
      await nodeServerCell({
        chain: chainFor(p, s),
        node: { ciphers: s.openssl },
        client: s.auth === "RSA-KX" ? { enableLegacyRsaKeyExchange: true } : {},
        cipher: s.openssl,
      });
    });
  }

  for (const g of GROUPS) {
    test(`group ${g.name} (node ecdhCurve ${g.node})`, { timeout: CELL_TIMEOUT }, async () => {
      const p = await pki();
      await nodeServerCell({
        chain: p.p256,
        node: { ecdhCurve: g.node },
        cipher: "ECDHE-ECDSA-AES128-GCM-SHA256",
        group: g.name,
      });
    });
  }

  test("ECDSA P-384 certificate", { timeout: CELL_TIMEOUT }, async () => {
    const p = await pki();
    await nodeServerCell({
      chain: p.p384,
      client: { cipherSuites: ["TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"] },
      cipher: "ECDHE-ECDSA-AES256-GCM-SHA384",
      serverCN: "localhost",
    });
  });

  test("Ed25519 certificate", { timeout: CELL_TIMEOUT }, async () => {
    const p = await pki();
    const { ours } = await nodeServerCell({
      chain: p.ed25519,
      cipher: "ECDHE-ECDSA-AES128-GCM-SHA256",
      serverCN: "localhost",
    });
    assert.equal(ours.info?.peerSignatureScheme, 0x0807);
  });

  test("ALPN h2 and http/1.1 negotiated", { timeout: CELL_TIMEOUT }, async () => {
    const p = await pki();
    for (const proto of ["h2", "http/1.1"]) {
      await nodeServerCell({
        chain: p.p256,
        node: { ALPNProtocols: ["h2", "http/1.1"] },
        client: { alpnProtocols: [proto] },
        cipher: "ECDHE-ECDSA-AES128-GCM-SHA256",
        alpn: proto,
      });
    }
  });

  test("SNI: node's SNICallback sees our name and serves the matching certificate", {
    timeout: CELL_TIMEOUT,
  }, async () => {
    const p = await pki();
    const other = await makeChain({ key: "p256", hosts: ["other.test"], ips: [] });
    const otherCtx = tls.createSecureContext({ cert: other.chainPem, key: other.leaf.keyPem });
    const seen: string[] = [];
    const sni: tls.TlsOptions = {
      SNICallback: (name, cb) => {
        seen.push(name);
        cb(null, name === "other.test" ? otherCtx : undefined);
      },
    };
    const { node } = await nodeServerCell({
      chain: p.p256,
      node: sni,
      ca: p.p256.root.certPem + other.root.certPem,
      client: { servername: "other.test" },
      cipher: "ECDHE-ECDSA-AES128-GCM-SHA256",
      serverCN: "other.test",
    });
    assert.equal(node.servername, "other.test");
    const { node: n2 } = await nodeServerCell({
      chain: p.p256,
      node: sni,
      ca: p.p256.root.certPem + other.root.certPem,
      client: { servername: "localhost" },
      cipher: "ECDHE-ECDSA-AES128-GCM-SHA256",
      serverCN: "localhost",
    });
    assert.equal(n2.servername, "localhost");
    assert.deepEqual(seen, ["other.test", "localhost"]);
  });

  for (const reject of [false, true]) {
    for (const kind of ["client", "clientRsa"] as const) {
      test(`client certificate (${kind}) to node requestCert, rejectUnauthorized ${reject}`, {
        timeout: CELL_TIMEOUT,
      }, async () => {
        const p = await pki();
        const cc = p[kind];
        const { ours, node } = await nodeServerCell({
          chain: p.p256,
          node: { requestCert: true, rejectUnauthorized: reject, ca: cc.root.certPem },
          client: { cert: cc.chainPem, key: cc.leaf.keyPem },
          cipher: "ECDHE-ECDSA-AES128-GCM-SHA256",
        });
        assert.equal(ours.info?.clientCertificateRequested, true);
        assert.equal(node.peerCN, kind === "client" ? "typetls client" : "typetls client rsa");
        assert.equal(node.authorized, true, `node verified our chain: ${node.authorizationError}`);
      });
    }
  }

  test("no client certificate, node requestCert (not required): completes", {
    timeout: CELL_TIMEOUT,
  }, async () => {
    const p = await pki();
    const { ours, node } = await nodeServerCell({
      chain: p.p256,
      node: { requestCert: true, rejectUnauthorized: false, ca: p.client.root.certPem },
      cipher: "ECDHE-ECDSA-AES128-GCM-SHA256",
    });
    assert.equal(ours.info?.clientCertificateRequested, true);
    assert.equal(node.authorized, false);
  });

  test("no client certificate, node requestCert + rejectUnauthorized: node sends handshake_failure", {
    timeout: CELL_TIMEOUT,
  }, async () => {
    const p = await pki();
    const node = new NodeSide("server");
    const { server, port } = await nodeServer(
      { ...baseServer(p.p256), requestCert: true, rejectUnauthorized: true, ca: p.client.root.certPem },
      node,
      () => {},
    );
    const ours = ourClient({ port, servername: "localhost", ca: p.p256.root.certPem });
    try {
      await cell([ours, node], async () => {
        await ours.waitClosed();
        await node.until(() => node.error !== undefined, STEP, "tlsClientError");
        assert.equal(ours.info, null);
        assert.equal(ours.firstError?.alertName, "handshake_failure");
        assert.equal(ours.firstError?.sentBy, "peer");
        assert.match(String(node.error?.code), /PEER_DID_NOT_RETURN_A_CERTIFICATE/);
      });
    } finally {
      ours.sock.destroy();
      await closeServer(server);
    }
  });

  test("node server offering TLS 1.2 and 1.3, our client default: TLSv1.3 negotiated", {
    timeout: CELL_TIMEOUT,
  }, async () => {
    const p = await pki();
    await nodeServerCell({
      chain: p.p256,
      node: { minVersion: "TLSv1.2", maxVersion: "TLSv1.3" },
      protocol: "TLSv1.3",
      cipher: "TLS_AES_256_GCM_SHA384",
      group: "X25519",
      helloRetry: false,
    });
  });

  test("node server offering TLS 1.2 and 1.3, our client maxVersion TLSv1.2: TLSv1.2, no downgrade alarm", {
    timeout: CELL_TIMEOUT,
  }, async () => {
    const p = await pki();
    const { ours } = await nodeServerCell({
      chain: p.p256,
      node: { minVersion: "TLSv1.2", maxVersion: "TLSv1.3" },
      client: { maxVersion: "TLSv1.2" },
      cipher: "ECDHE-ECDSA-AES128-GCM-SHA256",
    });
    assert.equal(Buffer.from(ours.info!.serverRandom.subarray(24)).toString("hex"), "444f574e47524401");
  });
});

// ---- TypeTLS server vs node:tls client ---------------------------------------------------------

interface NodeClientCell {
  server: CreateServerOptions;
  node?: tls.ConnectionOptions;
  ca: string;
  /** Expected protocol (default TLSv1.2: the TLS 1.2 matrix). */
  protocol?: Version;
  /** TLS 1.3: whether our server sent a HelloRetryRequest. */
  helloRetry?: boolean;
  /** Our server's answer: echo and close (default), or `interact` drives the connection. */
  interact?: (ours: Observer, node: NodeSide, sock: tls.TLSSocket) => Promise<void>;
  servername?: string;
  cipher: string;
  group?: string;
  /** node's getEphemeralKeyInfo().name */
  ephemeral?: string;
  alpn?: string | false;
  serverCN?: string;
}

const NODE_LINE = "ping from node:tls\n";

async function nodeClientCell(c: NodeClientCell): Promise<{ ours: Observer; node: NodeSide }> {
  const server = await ourServer(c.server);
  const expected: Version = c.protocol ?? "TLSv1.2";
  server.onConnection = (o) => {
    let buf = "";
    o.sock.on("data", (d: Buffer) => {
      buf += d.toString("utf8");
      if (buf.endsWith("\n")) {
        o.sock.write(`echo:${buf}`);
        buf = "";
        if (!c.interact) o.sock.end();
      }
    });
  };
  const node = new NodeSide("client");
  const name = c.servername ?? "localhost";
  const sock = tls.connect({
    host: "127.0.0.1",
    port: server.port,
    servername: name,
    ca: c.ca,
    minVersion: "TLSv1.2",
    maxVersion: "TLSv1.2",
    ...c.node,
  });
  node.attach(sock, "client");
  sock.write(NODE_LINE);
  try {
    let ours: Observer | undefined;
    await cell([server, node], async () => {
      ours = await server.secured();
      await ours.receive(NODE_LINE);
      if (c.interact) {
        await node.until(() => node.data.includes(`echo:${NODE_LINE}`), STEP, "our answer");
        await c.interact(ours, node, sock);
        sock.end();
      }
      await node.until(() => node.closed, STEP, "close");
      await ours.waitClosed();
      const info = ours.info!;

      assert.equal(info.protocol, expected);
      assert.equal(ours.sock.getCipher()?.name, c.cipher);
      if (c.group) assert.equal(info.group === undefined ? "none" : groupName(info.group), c.group);
      if (c.helloRetry !== undefined) {
        assert.equal(info.helloRetry === true, c.helloRetry, "helloRetry");
        assert.equal(ours.traced("send", "HelloRetryRequest"), c.helloRetry ? 1 : 0);
        assert.equal(ours.traced("recv", "ClientHello"), c.helloRetry ? 2 : 1);
      }
      if (c.alpn !== undefined) assert.equal(ours.sock.alpnProtocol, c.alpn);
      assert.equal(info.serverName, name);
      if (!c.interact) assert.equal(ours.data, NODE_LINE);
      ours.assertCleanClose();

      assert.equal(node.error, undefined, "no error on node's side");
      assert.equal(node.protocol, expected);
      assert.equal(node.cipher?.name, c.cipher);
      assert.equal(node.authorized, true, `node verified our chain: ${node.authorizationError}`);
      if (c.ephemeral) assert.equal((node.ephemeral as tls.EphemeralKeyInfo).name, c.ephemeral);
      if (c.alpn !== undefined) assert.equal(node.alpn, c.alpn);
      if (c.serverCN) assert.equal(node.peerCN, c.serverCN);
      if (!c.interact) assert.equal(node.data, `echo:${NODE_LINE}`);
      assert.ok(node.ended, "node saw our close_notify");
    });
    return { ours: ours!, node };
  } finally {
    sock.destroy();
    await server.close();
  }
}

/** The node client must fail; returns both sides' errors. */
async function nodeClientFailCell(
  serverOpts: CreateServerOptions,
  nodeOpts: tls.ConnectionOptions,
  check: (
    ours: { code?: string; alertName?: string; sentBy?: string; message: string },
    node: NodeSide,
  ) => void,
): Promise<void> {
  const server = await ourServer(serverOpts);
  const node = new NodeSide("client");
  const sock = tls.connect({
    host: "127.0.0.1",
    port: server.port,
    servername: "localhost",
    minVersion: "TLSv1.2",
    maxVersion: "TLSv1.2",
    ...nodeOpts,
  });
  node.attach(sock, "client");
  try {
    await cell([server, node], async () => {
      const err = await server.failed();
      await node.until(() => node.closed, STEP, "close");
      assert.equal(node.secure && node.data.length > 0, false);
      check(err, node);
    });
  } finally {
    sock.destroy();
    await server.close();
  }
}

describe("TypeTLS server vs node:tls client", { concurrency: 4 }, () => {
  for (const s of [...ECDHE_SUITES, ...RSA_KX_SUITES]) {
    test(`suite ${s.iana}`, { timeout: CELL_TIMEOUT }, async () => {
      const p = await pki();
      const chain = chainFor(p, s);
      await nodeClientCell({
        server: {
          cert: chain.chainPem,
          key: chain.leaf.keyPem,
          ...(s.auth === "RSA-KX" ? { enableLegacyRsaKeyExchange: true } : {}),
        },
        node: { ciphers: s.openssl },
        ca: chain.root.certPem,
        cipher: s.openssl,
        serverCN: "localhost",
      });
    });
  }

  for (const g of GROUPS) {
    test(`group ${g.name} (node ecdhCurve ${g.node})`, { timeout: CELL_TIMEOUT }, async () => {
      const p = await pki();
      await nodeClientCell({
        server: { cert: p.rsa.chainPem, key: p.rsa.leaf.keyPem },
        node: { ecdhCurve: g.node },
        ca: p.rsa.root.certPem,
        cipher: "ECDHE-RSA-AES128-GCM-SHA256",
        group: g.name,
        ephemeral: g.name === "X25519" ? "X25519" : g.node,
      });
    });
  }

  test("ECDSA P-384 certificate", { timeout: CELL_TIMEOUT }, async () => {
    const p = await pki();
    await nodeClientCell({
      server: { cert: p.p384.chainPem, key: p.p384.leaf.keyPem },
      node: { ciphers: "ECDHE-ECDSA-AES256-GCM-SHA384" },
      ca: p.p384.root.certPem,
      cipher: "ECDHE-ECDSA-AES256-GCM-SHA384",
      serverCN: "localhost",
    });
  });

  test("Ed25519 certificate", { timeout: CELL_TIMEOUT }, async () => {
    const p = await pki();
    const { ours } = await nodeClientCell({
      server: { cert: p.ed25519.chainPem, key: p.ed25519.leaf.keyPem },
      ca: p.ed25519.root.certPem,
      cipher: "ECDHE-ECDSA-AES128-GCM-SHA256",
      serverCN: "localhost",
    });
    assert.equal(ours.info?.signatureScheme, 0x0807);
  });

  test("node client offering TLS 1.2 and 1.3, our server default: TLSv1.3 negotiated", {
    timeout: CELL_TIMEOUT,
  }, async () => {
    const p = await pki();
    await nodeClientCell({
      server: { cert: p.p256.chainPem, key: p.p256.leaf.keyPem },
      node: { minVersion: "TLSv1.2", maxVersion: "TLSv1.3" },
      ca: p.p256.root.certPem,
      protocol: "TLSv1.3",
      cipher: "TLS_AES_128_GCM_SHA256",
      group: "X25519",
      helloRetry: false,
    });
  });

  test("node client offering TLS 1.2 and 1.3, our server maxVersion TLSv1.2: TLSv1.2, node raises no alarm", {
    timeout: CELL_TIMEOUT,
  }, async () => {
    const p = await pki();
    await nodeClientCell({
      server: { cert: p.p256.chainPem, key: p.p256.leaf.keyPem, maxVersion: "TLSv1.2" },
      node: { minVersion: "TLSv1.2", maxVersion: "TLSv1.3" },
      ca: p.p256.root.certPem,
      cipher: "ECDHE-ECDSA-AES128-GCM-SHA256",
    });
  });

  test("ALPN h2 and http/1.1 negotiated", { timeout: CELL_TIMEOUT }, async () => {
    const p = await pki();
    for (const proto of ["h2", "http/1.1"]) {
      await nodeClientCell({
        server: { cert: p.p256.chainPem, key: p.p256.leaf.keyPem, alpnProtocols: ["h2", "http/1.1"] },
        node: { ALPNProtocols: [proto] },
        ca: p.p256.root.certPem,
        cipher: "ECDHE-ECDSA-AES128-GCM-SHA256",
        alpn: proto,
      });
    }
  });

  test("ALPN without overlap: our server sends no_application_protocol", {
    timeout: CELL_TIMEOUT,
  }, async () => {
    const p = await pki();
    await nodeClientFailCell(
      { cert: p.p256.chainPem, key: p.p256.leaf.keyPem, alpnProtocols: ["h2"] },
      { ca: p.p256.root.certPem, ALPNProtocols: ["http/1.1"] },
      (ours, node) => {
        assert.equal(ours.alertName, "no_application_protocol");
        assert.equal(ours.sentBy, "local");
        assert.equal(node.error?.code, "ERR_SSL_TLSV1_ALERT_NO_APPLICATION_PROTOCOL");
      },
    );
  });

  test("SNI: our server picks the certificate by name", { timeout: CELL_TIMEOUT }, async () => {
    const p = await pki();
    const other = await makeChain({ key: "p256", hosts: ["other.test"], ips: [] });
    const server: CreateServerOptions = {
      certificates: [
        { cert: p.p256.chainPem, key: p.p256.leaf.keyPem },
        { cert: other.chainPem, key: other.leaf.keyPem },
      ],
    };
    await nodeClientCell({
      server,
      ca: other.root.certPem,
      servername: "other.test",
      cipher: "ECDHE-ECDSA-AES128-GCM-SHA256",
      serverCN: "other.test",
    });
    await nodeClientCell({
      server,
      ca: p.p256.root.certPem,
      cipher: "ECDHE-ECDSA-AES128-GCM-SHA256",
      serverCN: "localhost",
    });
  });

  for (const mode of ["request", "require"] as const) {
    for (const kind of ["client", "clientRsa"] as const) {
      test(`client certificate (${kind}), our server clientAuth "${mode}"`, {
        timeout: CELL_TIMEOUT,
      }, async () => {
        const p = await pki();
        const cc = p[kind];
        const { ours } = await nodeClientCell({
          server: { cert: p.p256.chainPem, key: p.p256.leaf.keyPem, ca: cc.root.certPem, clientAuth: mode },
          node: { cert: cc.chainPem, key: cc.leaf.keyPem },
          ca: p.p256.root.certPem,
          cipher: "ECDHE-ECDSA-AES128-GCM-SHA256",
        });
        const cn = kind === "client" ? "typetls client" : "typetls client rsa";
        assert.equal(ours.info?.peerCertificates[0]?.subject.toString(), `CN=${cn}, O=TypeTLS Test`);
        assert.equal(ours.info?.peerVerified, true);
      });
    }
  }

  test('no client certificate, our server clientAuth "request": completes', {
    timeout: CELL_TIMEOUT,
  }, async () => {
    const p = await pki();
    const { ours } = await nodeClientCell({
      server: {
        cert: p.p256.chainPem,
        key: p.p256.leaf.keyPem,
        ca: p.client.root.certPem,
        clientAuth: "request",
      },
      ca: p.p256.root.certPem,
      cipher: "ECDHE-ECDSA-AES128-GCM-SHA256",
    });
    assert.equal(ours.info?.peerCertificates.length, 0);
  });

  test('no client certificate, our server clientAuth "require": we send handshake_failure', {
    timeout: CELL_TIMEOUT,
  }, async () => {
    const p = await pki();
    await nodeClientFailCell(
      { cert: p.p256.chainPem, key: p.p256.leaf.keyPem, ca: p.client.root.certPem, clientAuth: "require" },
      { ca: p.p256.root.certPem },
      (ours, node) => {
        assert.equal(ours.alertName, "handshake_failure");
        assert.equal(ours.sentBy, "local");
        assert.equal(node.error?.code, "ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE");
      },
    );
  });
});

// ---- TLS 1.3 --------------------------------------------------------------------------------------

const ONLY13 = { minVersion: "TLSv1.3", maxVersion: "TLSv1.3" } as const;

describe("TypeTLS client vs node:tls server, TLS 1.3 only", { concurrency: 4 }, () => {
  // node's server prefers TLS_AES_256_GCM_SHA384 (its default TLS 1.3 suite order)
  for (const s of TLS13_SUITES) {
    test(`suite ${s.iana} (node ciphersuites)`, { timeout: CELL_TIMEOUT }, async () => {
      const p = await pki();
      await nodeServerCell({
        chain: p.p256,
        node: { ...ONLY13, ciphers: s.iana },
        protocol: "TLSv1.3",
        cipher: s.iana,
        group: "X25519",
        helloRetry: false,
      });
    });
  }

  for (const g of GROUPS) {
    const hrr = g.name !== "X25519";
    test(`group ${g.name} (node ecdhCurve ${g.node}): ${hrr ? "HelloRetryRequest" : "no HelloRetryRequest"}`, {
      timeout: CELL_TIMEOUT,
    }, async () => {
      const p = await pki();
      await nodeServerCell({
        chain: p.p256,
        node: { ...ONLY13, ecdhCurve: g.node },
        protocol: "TLSv1.3",
        cipher: "TLS_AES_256_GCM_SHA384",
        group: g.name,
        helloRetry: hrr,
      });
    });
  }

  for (const k of CERT_KINDS_13) {
    test(`${k.kind} certificate: node signs with ${k.schemeName}`, { timeout: CELL_TIMEOUT }, async () => {
      const p = await pki();
      const { ours } = await nodeServerCell({
        chain: p[k.kind],
        node: ONLY13,
        protocol: "TLSv1.3",
        cipher: "TLS_AES_256_GCM_SHA384",
        serverCN: "localhost",
      });
      assert.equal(ours.info?.peerSignatureScheme, k.scheme);
    });
  }

  test("ALPN h2 and http/1.1 negotiated", { timeout: CELL_TIMEOUT }, async () => {
    const p = await pki();
    for (const proto of ["h2", "http/1.1"]) {
      await nodeServerCell({
        chain: p.p256,
        node: { ...ONLY13, ALPNProtocols: ["h2", "http/1.1"] },
        client: { alpnProtocols: [proto] },
        protocol: "TLSv1.3",
        cipher: "TLS_AES_256_GCM_SHA384",
        alpn: proto,
      });
    }
  });

  test("SNI: node's SNICallback sees our name and serves the matching certificate", {
    timeout: CELL_TIMEOUT,
  }, async () => {
    const p = await pki();
    const other = await makeChain({ key: "p256", hosts: ["other.test"], ips: [] });
    const otherCtx = tls.createSecureContext({ cert: other.chainPem, key: other.leaf.keyPem, ...ONLY13 });
    const seen: string[] = [];
    for (const name of ["other.test", "localhost"]) {
      const { node } = await nodeServerCell({
        chain: p.p256,
        node: {
          ...ONLY13,
          SNICallback: (n, cb) => {
            seen.push(n);
            cb(null, n === "other.test" ? otherCtx : undefined);
          },
        },
        ca: p.p256.root.certPem + other.root.certPem,
        client: { servername: name },
        protocol: "TLSv1.3",
        cipher: "TLS_AES_256_GCM_SHA384",
        serverCN: name,
      });
      assert.equal(node.servername, name);
    }
    assert.deepEqual(seen, ["other.test", "localhost"]);
  });

  for (const reject of [false, true]) {
    for (const kind of ["client", "clientRsa"] as const) {
      test(`client certificate (${kind}) to node requestCert, rejectUnauthorized ${reject}`, {
        timeout: CELL_TIMEOUT,
      }, async () => {
        const p = await pki();
        const cc = p[kind];
        const { ours, node } = await nodeServerCell({
          chain: p.p256,
          node: { ...ONLY13, requestCert: true, rejectUnauthorized: reject, ca: cc.root.certPem },
          client: { cert: cc.chainPem, key: cc.leaf.keyPem },
          protocol: "TLSv1.3",
          cipher: "TLS_AES_256_GCM_SHA384",
        });
        assert.equal(ours.info?.clientCertificateRequested, true);
        assert.equal(ours.info?.signatureScheme, kind === "client" ? 0x0403 : 0x0804);
        assert.equal(node.peerCN, kind === "client" ? "typetls client" : "typetls client rsa");
        assert.equal(node.authorized, true, `node verified our chain: ${node.authorizationError}`);
      });
    }
  }

  test("no client certificate, node requestCert (not required): completes", {
    timeout: CELL_TIMEOUT,
  }, async () => {
    const p = await pki();
    const { ours, node } = await nodeServerCell({
      chain: p.p256,
      node: { ...ONLY13, requestCert: true, rejectUnauthorized: false, ca: p.client.root.certPem },
      protocol: "TLSv1.3",
      cipher: "TLS_AES_256_GCM_SHA384",
    });
    assert.equal(ours.info?.clientCertificateRequested, true);
    assert.equal(node.authorized, false);
  });

  test("no client certificate, node requestCert + rejectUnauthorized: node sends certificate_required", {
    timeout: CELL_TIMEOUT,
  }, async () => {
    const p = await pki();
    const node = new NodeSide("server");
    const { server, port } = await nodeServer(
      {
        ...baseServer(p.p256),
        ...ONLY13,
        requestCert: true,
        rejectUnauthorized: true,
        ca: p.client.root.certPem,
      },
      node,
      () => {},
    );
    const ours = ourClient({ port, servername: "localhost", ca: p.p256.root.certPem });
    try {
      await cell([ours, node], async () => {
        await ours.waitClosed();
        await node.until(() => node.error !== undefined, STEP, "tlsClientError");
        // our Finished goes out before node's verdict (TLS 1.3): 'secure' may or may not have fired
        assert.equal(ours.data, "");
        assert.equal(ours.firstError?.alertName, "certificate_required", ours.firstError?.message);
        assert.equal(ours.firstError?.sentBy, "peer");
        assert.match(String(node.error?.code), /PEER_DID_NOT_RETURN_A_CERTIFICATE/);
      });
    } finally {
      ours.sock.destroy();
      await closeServer(server);
    }
  });

  test("KeyUpdate: our client updateKeys(true) mid-stream; node's OpenSSL answers with its own", {
    timeout: CELL_TIMEOUT,
  }, async () => {
    const p = await pki();
    const { ours } = await nodeServerCell({
      chain: p.p256,
      node: ONLY13,
      protocol: "TLSv1.3",
      cipher: "TLS_AES_256_GCM_SHA384",
      midway: async (o) => o.sock.updateKeys(true),
    });
    assert.deepEqual(
      ours.traces.filter((x) => x.message === "KeyUpdate").map((x) => `${x.direction} ${x.fields.request}`),
      ["send update_requested", "recv update_not_requested"],
    );
  });

  test("NewSessionTicket: node sends two; our 'session' event fires twice, lifetime > 0", {
    timeout: CELL_TIMEOUT,
  }, async () => {
    const p = await pki();
    const { ours } = await nodeServerCell({
      chain: p.p256,
      node: ONLY13,
      protocol: "TLSv1.3",
      cipher: "TLS_AES_256_GCM_SHA384",
    });
    assert.equal(ours.sessions.length, 2, "two tickets");
    assert.equal(ours.traced("recv", "NewSessionTicket"), 2);
    for (const s of ours.sessions) {
      assert.ok(s.state.lifetime > 0, `lifetime ${s.state.lifetime}`);
      assert.equal(s.state.secret.length, 48, "SHA-384 resumption PSK");
    }
    assert.deepEqual(ours.errors, []);
  });

  test("version: our client minVersion TLSv1.3 vs a 1.2-only node server: protocol_version from node", {
    timeout: CELL_TIMEOUT,
  }, async () => {
    const p = await pki();
    const node = new NodeSide("server");
    const { server, port } = await nodeServer(baseServer(p.p256), node, () => {});
    const ours = ourClient({ port, servername: "localhost", ca: p.p256.root.certPem, minVersion: "TLSv1.3" });
    try {
      await cell([ours, node], async () => {
        await ours.waitClosed();
        await node.until(() => node.error !== undefined, STEP, "tlsClientError");
        assert.equal(ours.info, null);
        assert.equal(ours.firstError?.alertName, "protocol_version", ours.firstError?.message);
        assert.equal(ours.firstError?.sentBy, "peer");
        assert.match(String(node.error?.code), /UNSUPPORTED_PROTOCOL/);
      });
    } finally {
      ours.sock.destroy();
      await closeServer(server);
    }
  });
});

describe("TypeTLS server vs node:tls client, TLS 1.3 only", { concurrency: 4 }, () => {
  for (const s of TLS13_SUITES) {
    test(`suite ${s.iana} (node ciphersuites)`, { timeout: CELL_TIMEOUT }, async () => {
      const p = await pki();
      await nodeClientCell({
        server: { cert: p.rsa.chainPem, key: p.rsa.leaf.keyPem },
        node: { ...ONLY13, ciphers: s.iana },
        ca: p.rsa.root.certPem,
        protocol: "TLSv1.3",
        cipher: s.iana,
        group: "X25519",
        helloRetry: false,
      });
    });
  }

  for (const g of GROUPS) {
    test(`group ${g.name} (node ecdhCurve ${g.node}): its key share, no HelloRetryRequest`, {
      timeout: CELL_TIMEOUT,
    }, async () => {
      const p = await pki();
      await nodeClientCell({
        server: { cert: p.p256.chainPem, key: p.p256.leaf.keyPem },
        node: { ...ONLY13, ecdhCurve: g.node },
        ca: p.p256.root.certPem,
        protocol: "TLSv1.3",
        cipher: "TLS_AES_128_GCM_SHA256",
        group: g.name,
        ephemeral: g.name === "X25519" ? "X25519" : g.node,
        helloRetry: false,
      });
    });
  }

  test('HelloRetryRequest: our server groups ["P-384"], node (ecdhCurve X25519:P-384) sends only an X25519 share', {
    timeout: CELL_TIMEOUT,
  }, async () => {
    const p = await pki();
    const { ours } = await nodeClientCell({
      server: { cert: p.p256.chainPem, key: p.p256.leaf.keyPem, groups: ["P-384"] },
      node: { ...ONLY13, ecdhCurve: "X25519:P-384" },
      ca: p.p256.root.certPem,
      protocol: "TLSv1.3",
      cipher: "TLS_AES_128_GCM_SHA256",
      group: "P-384",
      ephemeral: "secp384r1",
      helloRetry: true,
    });
    const hellos = ours.traces.filter((x) => x.direction === "recv" && x.message === "ClientHello");
    assert.deepEqual(
      hellos.map((h) => h.fields.key_share),
      ["X25519", "P-384"],
    );
  });

  for (const k of CERT_KINDS_13) {
    test(`${k.kind} certificate: we sign with ${k.schemeName}`, { timeout: CELL_TIMEOUT }, async () => {
      const p = await pki();
      const chain = p[k.kind];
      const { ours } = await nodeClientCell({
        server: { cert: chain.chainPem, key: chain.leaf.keyPem },
        node: ONLY13,
        ca: chain.root.certPem,
        protocol: "TLSv1.3",
        cipher: "TLS_AES_128_GCM_SHA256",
        serverCN: "localhost",
      });
      assert.equal(ours.info?.signatureScheme, k.scheme);
    });
  }

  test("ALPN h2 and http/1.1 negotiated", { timeout: CELL_TIMEOUT }, async () => {
    const p = await pki();
    for (const proto of ["h2", "http/1.1"]) {
      await nodeClientCell({
        server: { cert: p.p256.chainPem, key: p.p256.leaf.keyPem, alpnProtocols: ["h2", "http/1.1"] },
        node: { ...ONLY13, ALPNProtocols: [proto] },
        ca: p.p256.root.certPem,
        protocol: "TLSv1.3",
        cipher: "TLS_AES_128_GCM_SHA256",
        alpn: proto,
      });
    }
  });

  test("ALPN without overlap: our server sends no_application_protocol", {
    timeout: CELL_TIMEOUT,
  }, async () => {
    const p = await pki();
    await nodeClientFailCell(
      { cert: p.p256.chainPem, key: p.p256.leaf.keyPem, alpnProtocols: ["h2"] },
      { ...ONLY13, ca: p.p256.root.certPem, ALPNProtocols: ["http/1.1"] },
      (ours, node) => {
        assert.equal(ours.alertName, "no_application_protocol");
        assert.equal(ours.sentBy, "local");
        assert.equal(node.error?.code, "ERR_SSL_TLSV1_ALERT_NO_APPLICATION_PROTOCOL");
      },
    );
  });

  test("SNI: our server picks the certificate by name", { timeout: CELL_TIMEOUT }, async () => {
    const p = await pki();
    const other = await makeChain({ key: "p256", hosts: ["other.test"], ips: [] });
    const server: CreateServerOptions = {
      certificates: [
        { cert: p.p256.chainPem, key: p.p256.leaf.keyPem },
        { cert: other.chainPem, key: other.leaf.keyPem },
      ],
    };
    await nodeClientCell({
      server,
      node: ONLY13,
      ca: other.root.certPem,
      servername: "other.test",
      protocol: "TLSv1.3",
      cipher: "TLS_AES_128_GCM_SHA256",
      serverCN: "other.test",
    });
    await nodeClientCell({
      server,
      node: ONLY13,
      ca: p.p256.root.certPem,
      protocol: "TLSv1.3",
      cipher: "TLS_AES_128_GCM_SHA256",
      serverCN: "localhost",
    });
  });

  for (const mode of ["request", "require"] as const) {
    for (const kind of ["client", "clientRsa"] as const) {
      test(`client certificate (${kind}), our server clientAuth "${mode}"`, {
        timeout: CELL_TIMEOUT,
      }, async () => {
        const p = await pki();
        const cc = p[kind];
        const { ours } = await nodeClientCell({
          server: { cert: p.p256.chainPem, key: p.p256.leaf.keyPem, ca: cc.root.certPem, clientAuth: mode },
          node: { ...ONLY13, cert: cc.chainPem, key: cc.leaf.keyPem },
          ca: p.p256.root.certPem,
          protocol: "TLSv1.3",
          cipher: "TLS_AES_128_GCM_SHA256",
        });
        const cn = kind === "client" ? "typetls client" : "typetls client rsa";
        assert.equal(ours.info?.peerCertificates[0]?.subject.toString(), `CN=${cn}, O=TypeTLS Test`);
        assert.equal(ours.info?.peerVerified, true);
        assert.equal(ours.info?.peerSignatureScheme, kind === "client" ? 0x0403 : 0x0804);
      });
    }
  }

  test('no client certificate, our server clientAuth "request": completes', {
    timeout: CELL_TIMEOUT,
  }, async () => {
    const p = await pki();
    const { ours } = await nodeClientCell({
      server: {
        cert: p.p256.chainPem,
        key: p.p256.leaf.keyPem,
        ca: p.client.root.certPem,
        clientAuth: "request",
      },
      node: ONLY13,
      ca: p.p256.root.certPem,
      protocol: "TLSv1.3",
      cipher: "TLS_AES_128_GCM_SHA256",
    });
    assert.equal(ours.info?.peerCertificates.length, 0);
  });

  test('no client certificate, our server clientAuth "require": we send certificate_required', {
    timeout: CELL_TIMEOUT,
  }, async () => {
    const p = await pki();
    await nodeClientFailCell(
      { cert: p.p256.chainPem, key: p.p256.leaf.keyPem, ca: p.client.root.certPem, clientAuth: "require" },
      { ...ONLY13, ca: p.p256.root.certPem },
      (ours, node) => {
        assert.equal(ours.alertName, "certificate_required", ours.message);
        assert.equal(ours.sentBy, "local");
        assert.equal(node.error?.code, "ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED");
      },
    );
  });

  test("KeyUpdate from our server (updateKeys(true)): node's OpenSSL answers with its own", {
    timeout: CELL_TIMEOUT,
  }, async () => {
    const p = await pki();
    const { ours } = await nodeClientCell({
      server: { cert: p.p256.chainPem, key: p.p256.leaf.keyPem },
      node: ONLY13,
      ca: p.p256.root.certPem,
      protocol: "TLSv1.3",
      cipher: "TLS_AES_128_GCM_SHA256",
      interact: async (o, node, sock) => {
        o.sock.updateKeys(true);
        o.sock.write("server line after our KeyUpdate\n");
        await node.until(() => node.data.includes("server line after our KeyUpdate\n"), STEP, "our line");
        sock.write("node line after both KeyUpdates\n");
        await o.receive("node line after both KeyUpdates\n");
        await node.until(() => node.data.includes("echo:node line after both KeyUpdates\n"), STEP, "echo");
      },
    });
    assert.deepEqual(
      ours.traces.filter((x) => x.message === "KeyUpdate").map((x) => `${x.direction} ${x.fields.request}`),
      ["send update_requested", "recv update_not_requested"],
    );
  });

  test("version: our server minVersion TLSv1.3 vs a 1.2-only node client: we send protocol_version", {
    timeout: CELL_TIMEOUT,
  }, async () => {
    const p = await pki();
    await nodeClientFailCell(
      { cert: p.p256.chainPem, key: p.p256.leaf.keyPem, minVersion: "TLSv1.3" },
      { ca: p.p256.root.certPem },
      (ours, node) => {
        assert.equal(ours.alertName, "protocol_version", ours.message);
        assert.equal(ours.sentBy, "local");
        assert.equal(node.error?.code, "ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION");
      },
    );
  });
});
