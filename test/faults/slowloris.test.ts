/**
 * Slowloris: a peer that dribbles its handshake one byte at a time is cut off by handshakeTimeout
 * (with a fatal alert), however many of them there are, while real clients still get served; and a
 * slow server is cut off the same way by our client. Nothing is left behind.
 */
import assert from "node:assert/strict";
import { once } from "node:events";
import * as net from "node:net";
import { test } from "node:test";
import * as tls from "node:tls";
import { DEMO_ROOT_CA, DEMO_SERVER_CERT, DEMO_SERVER_KEY } from "../../src/cli/demo-certs.js";
import { connect, createServer, type TLSError } from "../../src/index.js";
import { baseline, clientHelloBytes, closed, expectNoLeak, listenLocal, type Watched } from "./leaks.js";

const HANDSHAKE_TIMEOUT_MS = 400;
const BYTE_EVERY_MS = 20;

/** Sends `bytes` one at a time, every `every` ms, until done or the socket closes. */
function dribble(sock: net.Socket, bytes: Buffer, every: number): { sent: () => number } {
  let i = 0;
  const timer = setInterval(() => {
    if (sock.destroyed || !sock.writable || i >= bytes.length) {
      clearInterval(timer);
      return;
    }
    sock.write(bytes.subarray(i, i + 1));
    i++;
  }, every);
  sock.once("close", () => clearInterval(timer));
  return { sent: () => i };
}

test("our server cuts slowloris ClientHellos off at handshakeTimeout and keeps serving", {
  timeout: 30_000,
}, async () => {
  const server = createServer({
    cert: DEMO_SERVER_CERT,
    key: DEMO_SERVER_KEY,
    handshakeTimeout: HANDSHAKE_TIMEOUT_MS,
  });
  const errors: TLSError[] = [];
  server.on("tlsClientError", (e: TLSError) => errors.push(e));
  await listenLocal(server);
  const port = server.address().port;
  const watched: Watched = {
    emitters: [server, server.server],
    netServer: server.server,
    connections: () => server.connections,
  };
  try {
    const base = baseline(watched);
    const hello = clientHelloBytes();
    assert.ok(hello.length * BYTE_EVERY_MS > 10 * HANDSHAKE_TIMEOUT_MS, "the dribble would take far longer");
    const N = 25;
    const started = Date.now();
    const loris = await Promise.all(
      Array.from({ length: N }, async () => {
        const sock = net.connect(port, "127.0.0.1");
        await once(sock, "connect");
        const got: Buffer[] = [];
        sock.on("data", (d: Buffer) => got.push(d));
        sock.on("error", () => {});
        const d = dribble(sock, hello, BYTE_EVERY_MS);
        return { sock, got, d, gone: closed(sock) };
      }),
    );
    // Meanwhile a real client is served at once.
    const c = tls.connect({ port, host: "127.0.0.1", servername: "localhost", ca: DEMO_ROOT_CA });
    await once(c, "secureConnect");
    c.end();
    await closed(c);
    await Promise.all(loris.map((l) => l.gone));
    const elapsed = Date.now() - started;
    assert.ok(elapsed < HANDSHAKE_TIMEOUT_MS + 3000, `all cut off in ${elapsed} ms`);
    for (const l of loris) {
      assert.ok(l.d.sent() < hello.length, "cut off before the ClientHello was complete");
      // The last thing each got: a fatal user_canceled alert in a plaintext record.
      const all = Buffer.concat(l.got);
      assert.deepEqual([...all.subarray(-7)], [0x15, 0x03, 0x01, 0x00, 0x02, 0x02, 90]);
    }
    assert.equal(errors.length, N);
    for (const e of errors) assert.match(e.message, /handshake not complete after 400 ms/);
    await expectNoLeak(watched, base, "slowloris");
  } finally {
    server.close();
  }
});

test("our client cuts a server that dribbles its answer off at handshakeTimeout", {
  timeout: 30_000,
}, async () => {
  // A ServerHello record header, then one byte of body every 20 ms.
  const slow = Buffer.concat([
    Buffer.from([0x16, 0x03, 0x03, 0x00, 0x7a, 0x02, 0x00, 0x00, 0x76]),
    Buffer.alloc(0x72, 1),
  ]);
  const server = net.createServer((raw) => {
    raw.on("error", () => {});
    raw.once("data", () => dribble(raw, slow, BYTE_EVERY_MS));
  });
  await listenLocal(server);
  try {
    const watched: Watched = { emitters: [] };
    const base = baseline(watched);
    const started = Date.now();
    const c = connect({
      host: "127.0.0.1",
      port: (server.address() as net.AddressInfo).port,
      servername: "localhost",
      ca: DEMO_ROOT_CA,
      handshakeTimeout: HANDSHAKE_TIMEOUT_MS,
    });
    const errors: TLSError[] = [];
    c.on("error", (e: TLSError) => errors.push(e));
    await closed(c);
    const elapsed = Date.now() - started;
    assert.ok(elapsed >= HANDSHAKE_TIMEOUT_MS - 20 && elapsed < HANDSHAKE_TIMEOUT_MS + 3000, `${elapsed} ms`);
    assert.equal(errors.length, 1);
    assert.match(errors[0]!.message, /handshake not complete after 400 ms/);
    assert.equal(errors[0]!.alertName, "user_canceled");
    await expectNoLeak(watched, base, "slow server");
  } finally {
    server.close();
  }
});
