/**
 * Record-layer interop: transfers far larger than one record (16 KiB) both ways, and peers that
 * fragment their handshake messages over many small records (openssl -max_send_frag 512), in TLS
 * 1.2 and in TLS 1.3 (there with KeyUpdates during the transfer).
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import type { AddressInfo } from "node:net";
import { after, describe, test } from "node:test";
import * as tls from "node:tls";
import {
  CELL_TIMEOUT,
  cell,
  type Describable,
  lineEcho,
  ourClient,
  ourServer,
  pki,
  reverseLine,
  STEP,
  within,
} from "./harness.js";
import { killAllPeers, PROBE_CONNECTIONS, requirePeer, spawnPeer, startServerPeer } from "./peers.js";

after(killAllPeers);

/** Text of `n` bytes in lines (printable, so any peer's echo keeps it intact). */
function payload(n: number): string {
  const lines: string[] = [];
  let size = 0;
  while (size < n) {
    const l = `${randomBytes(48).toString("base64")}\n`;
    lines.push(l);
    size += l.length;
  }
  return lines.join("");
}

class Note implements Describable {
  readonly lines: string[] = [];
  constructor(readonly label: string) {}
  transcript(): string {
    return `--- ${this.label}:\n${this.lines.join("\n")}\n---`;
  }
}

describe("record layer interop", { concurrency: 4 }, () => {
  test("our client sends 1 MiB to a node:tls echo server and gets it back", {
    timeout: CELL_TIMEOUT,
  }, async () => {
    const p = await pki();
    const note = new Note("node:tls echo server");
    const server = tls.createServer(
      { cert: p.p256.chainPem, key: p.p256.leaf.keyPem, minVersion: "TLSv1.2", maxVersion: "TLSv1.2" },
      (s) => {
        let n = 0;
        s.on("data", (d: Buffer) => {
          n += d.length;
          s.write(d);
        });
        s.on("end", () => note.lines.push(`node got ${n} bytes and our close_notify`));
        s.on("error", (e) => note.lines.push(`node error ${e.message}`));
      },
    );
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const data = payload(1 << 20);
    const client = ourClient({
      port: (server.address() as AddressInfo).port,
      servername: "localhost",
      ca: p.p256.root.certPem,
      cipherSuites: ["TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256"],
    });
    try {
      await cell([client, note], async () => {
        await client.secure();
        client.sock.write(data);
        await client.until(() => client.data.length >= data.length || client.closed, STEP * 2, "the echo");
        assert.equal(client.data.length, data.length);
        assert.ok(client.data === data, "the echo is byte for byte what we sent");
        client.sock.end();
        await client.waitClosed();
        client.assertCleanClose();
      });
    } finally {
      client.sock.destroy();
      await new Promise((r) => server.close(r));
    }
  });

  test("a node:tls client sends 1 MiB to our echo server and gets it back", {
    timeout: CELL_TIMEOUT,
  }, async () => {
    const p = await pki();
    const note = new Note("node:tls client");
    const server = await ourServer({ cert: p.rsa.chainPem, key: p.rsa.leaf.keyPem });
    server.onConnection = (o) => o.sock.on("data", (d: Buffer) => o.sock.write(d));
    const data = payload(1 << 20);
    let got = "";
    const sock = tls.connect({
      host: "127.0.0.1",
      port: server.port,
      servername: "localhost",
      ca: p.rsa.root.certPem,
      maxVersion: "TLSv1.2",
      ciphers: "ECDHE-RSA-AES256-GCM-SHA384",
    });
    sock.on("data", (d: Buffer) => {
      got += d.toString("utf8");
    });
    sock.on("error", (e) => note.lines.push(`node error ${e.message}`));
    sock.write(data);
    try {
      await cell([server, note], async () => {
        const conn = await server.secured();
        await within(
          STEP * 2,
          "node gets the echo",
          new Promise<void>((resolve) => {
            const check = (): void => {
              if (got.length >= data.length) resolve();
              else sock.once("data", check);
            };
            check();
          }),
        );
        assert.ok(got === data, "the echo is byte for byte what node sent");
        assert.equal(conn.data.length, data.length);
        sock.end();
        await conn.waitClosed();
        conn.assertCleanClose();
      });
    } finally {
      sock.destroy();
      await server.close();
    }
  });

  test("our client sends 256 KiB to gnutls-serv --echo and gets it back", {
    timeout: CELL_TIMEOUT,
  }, async (t) => {
    if (!requirePeer(t, "gnutls-serv")) return;
    const p = await pki();
    const { proc, port } = await startServerPeer("gnutls-serv", (port) => [
      "--echo",
      "-q",
      "-p",
      String(port),
      "--priority",
      "NORMAL:-VERS-ALL:+VERS-TLS1.2",
      "--x509certfile",
      p.p256.files.chain,
      "--x509keyfile",
      p.p256.files.leafKey,
    ]);
    const data = payload(256 << 10);
    const client = ourClient({ port, servername: "localhost", ca: p.p256.root.certPem });
    try {
      await cell([client, proc], async () => {
        await client.secure();
        client.sock.write(data);
        await client.until(() => client.data.length >= data.length || client.closed, STEP * 2, "the echo");
        assert.ok(client.data === data, "the echo is byte for byte what we sent");
        client.sock.end();
        await client.waitClosed();
        client.assertCleanClose();
      });
    } finally {
      client.sock.destroy();
      await proc.kill();
    }
  });

  test("s_server -max_send_frag 512: its handshake messages span many records", {
    timeout: CELL_TIMEOUT,
  }, async (t) => {
    if (!requirePeer(t, "openssl")) return;
    const p = await pki();
    const chain = p.rsa;
    const { proc, port } = await startServerPeer("openssl", (port) => [
      "s_server",
      "-accept",
      `127.0.0.1:${port}`,
      "-tls1_2",
      "-rev",
      "-naccept",
      String(1 + PROBE_CONNECTIONS),
      "-max_send_frag",
      "512",
      "-cert",
      chain.files.leaf,
      "-cert_chain",
      chain.files.intermediate,
      "-key",
      chain.files.leafKey,
      "-Verify",
      "1",
      "-CAfile",
      p.clientRsa.files.root,
    ]);
    const client = ourClient({
      port,
      servername: "localhost",
      ca: chain.root.certPem,
      cert: p.clientRsa.chainPem,
      key: p.clientRsa.leaf.keyPem,
    });
    try {
      await cell([client, proc], async () => {
        const info = await client.secure();
        // the RSA chain (two RSA-2048 certificates) is well over 512 bytes
        assert.equal(info.peerCertificates.length, 2);
        const line = "x".repeat(3000);
        client.sock.write(`${line}\n`);
        await client.receive(`${reverseLine(line)}\n`);
        client.sock.end();
        await client.waitClosed();
        assert.equal((await proc.waitExit(STEP)).code, 0);
        client.assertCleanClose();
        assert.match(proc.output, /Peer certificate: CN = typetls client rsa/);
      });
    } finally {
      client.sock.destroy();
      await proc.kill();
    }
  });

  test("s_client -max_send_frag 512 with a client certificate: fragmented Certificate and CertificateVerify", {
    timeout: CELL_TIMEOUT,
  }, async (t) => {
    if (!requirePeer(t, "openssl")) return;
    const p = await pki();
    const cc = p.clientRsa;
    const server = await ourServer({
      cert: p.p256.chainPem,
      key: p.p256.leaf.keyPem,
      ca: cc.root.certPem,
      clientAuth: "require",
    });
    server.onConnection = (o) => lineEcho(o, true);
    const proc = spawnPeer("openssl", [
      "s_client",
      "-connect",
      `127.0.0.1:${server.port}`,
      "-servername",
      "localhost",
      "-CAfile",
      p.p256.files.root,
      "-verify_return_error",
      "-nocommands",
      "-tls1_2",
      "-max_send_frag",
      "512",
      "-cert",
      cc.files.leaf,
      "-cert_chain",
      cc.files.intermediate,
      "-key",
      cc.files.leafKey,
    ]);
    const line = "y".repeat(2000);
    proc.write(`${line}\n`);
    try {
      await cell([server, proc], async () => {
        const conn = await server.secured();
        await conn.receive(`${line}\n`);
        assert.equal((await proc.waitExit(STEP)).code, 0);
        await conn.waitClosed();
        conn.assertCleanClose();
        assert.equal(
          conn.info?.peerCertificates[0]?.subject.toString(),
          "CN=typetls client rsa, O=TypeTLS Test",
        );
        assert.ok(proc.stdout.includes(`echo:${line}\n`));
      });
    } finally {
      await proc.kill();
      await server.close();
    }
  });
});

describe("record layer interop, TLS 1.3", { concurrency: 4 }, () => {
  test("our client sends 1 MiB to a node:tls 1.3 echo server, with KeyUpdates on the way, and gets it back", {
    timeout: CELL_TIMEOUT,
  }, async () => {
    const p = await pki();
    const note = new Note("node:tls echo server");
    const server = tls.createServer(
      { cert: p.p256.chainPem, key: p.p256.leaf.keyPem, minVersion: "TLSv1.3", maxVersion: "TLSv1.3" },
      (s) => {
        let n = 0;
        s.on("data", (d: Buffer) => {
          n += d.length;
          s.write(d);
        });
        s.on("end", () => note.lines.push(`node got ${n} bytes and our close_notify`));
        s.on("error", (e) => note.lines.push(`node error ${e.message}`));
      },
    );
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const data = payload(1 << 20);
    const client = ourClient({
      port: (server.address() as AddressInfo).port,
      servername: "localhost",
      ca: p.p256.root.certPem,
      cipherSuites: ["TLS_CHACHA20_POLY1305_SHA256"],
    });
    try {
      await cell([client, note], async () => {
        const info = await client.secure();
        assert.equal(info.protocol, "TLSv1.3");
        // four slices, a KeyUpdate (asking node for one too) before each of the last three
        const q = data.length >> 2;
        for (let i = 0; i < 4; i++) {
          if (i > 0) client.sock.updateKeys(true);
          client.sock.write(data.slice(i * q, i === 3 ? data.length : (i + 1) * q));
        }
        await client.until(() => client.data.length >= data.length || client.closed, STEP * 2, "the echo");
        assert.equal(client.data.length, data.length);
        assert.ok(client.data === data, "the echo is byte for byte what we sent");
        assert.equal(client.traced("send", "KeyUpdate"), 3);
        assert.ok(client.traced("recv", "KeyUpdate") >= 1, "node updated its keys too");
        client.sock.end();
        await client.waitClosed();
        client.assertCleanClose();
      });
    } finally {
      client.sock.destroy();
      await new Promise((r) => server.close(r));
    }
  });

  test("s_server -tls1_3 -max_send_frag 512: its encrypted handshake messages span many records", {
    timeout: CELL_TIMEOUT,
  }, async (t) => {
    if (!requirePeer(t, "openssl")) return;
    const p = await pki();
    const chain = p.rsa;
    const { proc, port } = await startServerPeer("openssl", (port) => [
      "s_server",
      "-accept",
      `127.0.0.1:${port}`,
      "-tls1_3",
      "-rev",
      "-naccept",
      String(1 + PROBE_CONNECTIONS),
      "-max_send_frag",
      "512",
      "-cert",
      chain.files.leaf,
      "-cert_chain",
      chain.files.intermediate,
      "-key",
      chain.files.leafKey,
      "-Verify",
      "1",
      "-CAfile",
      p.clientRsa.files.root,
    ]);
    const client = ourClient({
      port,
      servername: "localhost",
      ca: chain.root.certPem,
      cert: p.clientRsa.chainPem,
      key: p.clientRsa.leaf.keyPem,
    });
    try {
      await cell([client, proc], async () => {
        const info = await client.secure();
        assert.equal(info.protocol, "TLSv1.3");
        assert.equal(info.peerCertificates.length, 2);
        const line = "x".repeat(3000);
        client.sock.write(`${line}\n`);
        await client.receive(`${reverseLine(line)}\n`);
        client.sock.end();
        await client.waitClosed();
        assert.equal((await proc.waitExit(STEP)).code, 0);
        client.assertCleanClose();
        assert.match(proc.output, /Peer certificate: CN = typetls client rsa/);
      });
    } finally {
      client.sock.destroy();
      await proc.kill();
    }
  });

  test("s_client -tls1_3 -max_send_frag 512 with a client certificate: fragmented encrypted Certificate", {
    timeout: CELL_TIMEOUT,
  }, async (t) => {
    if (!requirePeer(t, "openssl")) return;
    const p = await pki();
    const cc = p.clientRsa;
    const server = await ourServer({
      cert: p.rsa.chainPem,
      key: p.rsa.leaf.keyPem,
      ca: cc.root.certPem,
      clientAuth: "require",
    });
    server.onConnection = (o) => lineEcho(o, true);
    const proc = spawnPeer("openssl", [
      "s_client",
      "-connect",
      `127.0.0.1:${server.port}`,
      "-servername",
      "localhost",
      "-CAfile",
      p.rsa.files.root,
      "-verify_return_error",
      "-nocommands",
      "-tls1_3",
      "-max_send_frag",
      "512",
      "-cert",
      cc.files.leaf,
      "-cert_chain",
      cc.files.intermediate,
      "-key",
      cc.files.leafKey,
    ]);
    const line = "y".repeat(2000);
    proc.write(`${line}\n`);
    try {
      await cell([server, proc], async () => {
        const conn = await server.secured();
        assert.equal(conn.info?.protocol, "TLSv1.3");
        await conn.receive(`${line}\n`);
        assert.equal((await proc.waitExit(STEP)).code, 0);
        await conn.waitClosed();
        conn.assertCleanClose();
        assert.equal(
          conn.info?.peerCertificates[0]?.subject.toString(),
          "CN=typetls client rsa, O=TypeTLS Test",
        );
        assert.ok(proc.stdout.includes(`echo:${line}\n`));
      });
    } finally {
      await proc.kill();
      await server.close();
    }
  });
});
