import assert from "node:assert/strict";
import { once } from "node:events";
import * as net from "node:net";
import { test } from "node:test";
import { AlertDescription as A, alertName } from "../../src/alert.js";
import { connect, createServer, type TLSError, type TLSServer } from "../../src/index.js";
import { demo } from "../unit/pair.js";
import { cat, hs, mutate, zeros } from "./bytes.js";
import { Client12 } from "./script12.js";
import { Client13, Server13 } from "./script13.js";
import { serverConfig } from "./setup.js";
import { Wire } from "./wire.js";

/**
 * A few hostile scripts over real TCP against createServer() and connect(): the exact alert
 * reaches the peer (decrypted by the script where it is sealed), the socket is closed, the error
 * is reported on the server, and the server goes on serving other connections.
 */

async function listen(server: net.Server | TLSServer): Promise<number> {
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return (server.address() as net.AddressInfo).port;
}

/** A raw socket whose incoming bytes feed a Wire; `until` waits for a condition on it. */
class SocketPeer {
  closed = false;
  private waiters: Array<() => void> = [];
  constructor(
    readonly sock: net.Socket,
    readonly wire: Wire,
  ) {
    sock.on("data", (d: Buffer) => {
      wire.feed(new Uint8Array(d));
      this.wake();
    });
    sock.on("close", () => {
      this.closed = true;
      this.wake();
    });
    sock.on("error", () => {});
  }
  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }
  send(...b: Uint8Array[]): void {
    for (const x of b) this.sock.write(x);
  }
  async until(cond: () => boolean, what: string, ms = 5000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!cond()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise<void>((r) => {
        this.waiters.push(r);
        setTimeout(r, 50);
      });
    }
  }
  lastAlert(): string | undefined {
    const a = this.wire.alerts().at(-1);
    return a ? `${a[0]}:${alertName(a[1])}` : undefined;
  }
}

async function dial(port: number, tls13: boolean): Promise<SocketPeer> {
  const sock = net.connect(port, "127.0.0.1");
  await once(sock, "connect");
  return new SocketPeer(sock, new Wire(tls13));
}

/** A good client completes a handshake and an echo on the same server. */
async function goodClient(port: number): Promise<void> {
  const c = connect({ port, host: "127.0.0.1", servername: "localhost", ca: demo.ca });
  await once(c, "secureConnect");
  c.write("ping");
  const [d] = await once(c, "data");
  assert.equal(String(d), "pong");
  c.destroy();
}

function echoServer() {
  const errors: TLSError[] = [];
  const server = createServer({ cert: demo.cert, key: demo.key }, (s) => {
    s.on("data", () => s.write("pong"));
  });
  server.on("tlsClientError", (e: TLSError) => errors.push(e));
  return { server, errors };
}

test("TCP: hostile TLS 1.3 client with a bad Finished gets a sealed decrypt_error; the server keeps serving", {
  timeout: 30000,
}, async () => {
  const { server, errors } = echoServer();
  const port = await listen(server);
  try {
    const p = await dial(port, true);
    const c = new Client13(p.wire);
    p.send(p.wire.plain(22, c.hello()));
    await p.until(() => p.wire.queued >= 1, "the ServerHello");
    c.readServerHello();
    await p.until(() => p.wire.queued >= 4, "the encrypted server flight");
    c.readServerFlight();
    p.send(p.wire.rec(22, hs(20, zeros(32))));
    await p.until(() => p.closed, "the server to close");
    assert.equal(p.lastAlert(), `2:decrypt_error`);
    assert.ok(p.wire.seen.at(-1)?.sealed, "the alert was sealed under the server's keys");
    assert.equal(errors.at(-1)?.alertName, "decrypt_error");
    await goodClient(port);
  } finally {
    server.close();
  }
});

test("TCP: SSLv2 ClientHello, SSLv3 ClientHello and a renegotiation flood, concurrently, next to good clients", {
  timeout: 30000,
}, async () => {
  const { server, errors } = echoServer();
  const port = await listen(server);
  try {
    const v2 = await dial(port, false);
    v2.send(cat(Uint8Array.of(0x80, 0x2e, 0x01, 0x03, 0x01, 0, 0x15, 0, 0, 0, 0x10), zeros(0x15 + 16)));
    const v3 = await dial(port, false);
    const c3 = new Client12(v3.wire);
    const h3 = c3.hello({ version: 0x0300 });
    v3.send(cat(Uint8Array.of(22, 3, 0, h3.length >> 8, h3.length & 0xff), h3));
    const reneg = await dial(port, false);
    const c = new Client12(reneg.wire);
    reneg.send(reneg.wire.plain(22, c.hello()));
    await reneg.until(() => reneg.wire.queued >= 4, "the server flight");
    c.readServerFlight();
    reneg.send(
      reneg.wire.plain(22, c.clientKeyExchange()),
      c.changeCipherSpec(),
      reneg.wire.rec(22, c.finished()),
    );
    await reneg.until(() => reneg.wire.queued >= 1, "the server Finished");
    c.readServerFinish();
    const good = goodClient(port);
    for (let i = 0; i < 50; i++) reneg.send(reneg.wire.rec(22, c.hello()));
    await Promise.all([
      v2.until(() => v2.closed, "SSLv2 close"),
      v3.until(() => v3.closed, "SSLv3 close"),
      reneg.until(() => reneg.closed, "renegotiation flood close"),
      good,
    ]);
    assert.equal(v2.lastAlert(), "2:protocol_version");
    assert.equal(v3.lastAlert(), "2:protocol_version");
    assert.equal(reneg.lastAlert(), "2:unexpected_message");
    assert.equal(
      reneg.wire.alerts().filter(([l]) => l === 1).length,
      8,
      "eight no_renegotiation warnings first",
    );
    assert.deepEqual(errors.map((e) => e.alertName).sort(), [
      "protocol_version",
      "protocol_version",
      "unexpected_message",
    ]);
    await goodClient(port);
  } finally {
    server.close();
  }
});

test("TCP: our connect() against a scripted server with a forged CertificateVerify", {
  timeout: 30000,
}, async () => {
  let peer: SocketPeer | undefined;
  const done = new Promise<void>((resolve, reject) => {
    const raw = net.createServer(async (sock) => {
      try {
        const p = new SocketPeer(sock, new Wire(true));
        peer = p;
        const s = new Server13(p.wire, serverConfig);
        await p.until(() => p.wire.queued >= 1, "the ClientHello");
        s.readHello();
        const sh = s.serverHello();
        s.handshakeKeys();
        const ee = s.encryptedExtensions();
        const cert = s.certificate();
        const cv = mutate.pad(s.certificateVerify(), new Uint8Array(0));
        cv[cv.length - 2]! ^= 1;
        p.send(p.wire.plain(22, sh), p.wire.rec(22, ee), p.wire.rec(22, cert), p.wire.rec(22, cv));
        await p.until(() => p.closed, "the client to close");
        resolve();
      } catch (e) {
        reject(e);
      }
    });
    void listen(raw).then((port) => {
      const c = connect({ port, host: "127.0.0.1", servername: "localhost", ca: demo.ca });
      c.on("error", (e: TLSError) => {
        try {
          assert.equal(e.alertName, "decrypt_error");
          assert.equal(e.sentBy, "local");
        } catch (err) {
          reject(err);
        }
      });
      void done.finally(() => raw.close());
    });
  });
  await done;
  // (The client has not switched to its handshake keys yet: its own flight never went out.)
  assert.equal(peer?.lastAlert(), `2:${alertName(A.decrypt_error)}`);
});

test("TCP: our client rejecting our server's certificate: the server reports the client's alert", {
  timeout: 30000,
}, async () => {
  const { server, errors } = echoServer();
  const port = await listen(server);
  try {
    const c = connect({ port, host: "127.0.0.1", servername: "wrong.example", ca: demo.ca });
    const [e] = (await once(c, "error")) as [TLSError];
    assert.equal(e.alertName, "bad_certificate");
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(errors.at(-1)?.alertName, "bad_certificate");
    assert.equal(errors.at(-1)?.sentBy, "peer");
    await goodClient(port);
  } finally {
    server.close();
  }
});
