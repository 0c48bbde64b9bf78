/**
 * A socket error while we write: the peer stops reading, we write a large payload (backpressure
 * must hold it back instead of queueing it all), then the peer resets. Our side gets one error
 * (the pending write's callback gets it too), never an uncaught exception, and nothing is left
 * behind. Both roles.
 */
import assert from "node:assert/strict";
import { once } from "node:events";
import * as net from "node:net";
import { test } from "node:test";
import * as tls from "node:tls";
import { DEMO_ROOT_CA, DEMO_SERVER_CERT, DEMO_SERVER_KEY } from "../../src/cli/demo-certs.js";
import { connect, createServer, type TLSSocket } from "../../src/index.js";
import { baseline, closed, expectNoLeak, faultProxy, listenLocal, sleep, type Watched } from "./leaks.js";

const MiB = 1024 * 1024;
const PAYLOAD_MIB = 256;
/** What loopback TCP buffers plus our own queue may hold while the peer reads nothing. */
const MAX_QUEUED_MIB = 48;

interface Writer {
  /** Writes whose callback said "done" (no error). */
  ok: number;
  failed: Error[];
  written: number;
}

/** Writes PAYLOAD_MIB 1 MiB buffers as a well-behaved writer (waiting for 'drain'). */
function writeLots(s: TLSSocket): Writer {
  const w: Writer = { ok: 0, failed: [], written: 0 };
  const big = Buffer.alloc(MiB, 0x5a);
  const more = (): void => {
    while (w.written < PAYLOAD_MIB && !s.destroyed) {
      w.written++;
      const go = s.write(big, (e) => {
        if (e) w.failed.push(e);
        else w.ok++;
      });
      if (!go) {
        s.once("drain", more);
        return;
      }
    }
  };
  more();
  return w;
}

function code(e: unknown): string {
  return String((e as { code?: unknown }).code);
}

test("our server: the client stops reading, then resets while we write", { timeout: 30_000 }, async () => {
  const server = createServer({ cert: DEMO_SERVER_CERT, key: DEMO_SERVER_KEY });
  const clientErrors: Error[] = [];
  server.on("tlsClientError", (e: Error) => clientErrors.push(e));
  let writer: Writer | undefined;
  let serverSock: TLSSocket | undefined;
  server.on("secureConnection", (s: TLSSocket) => {
    serverSock = s;
    writer = writeLots(s);
  });
  await listenLocal(server);
  const watched: Watched = {
    emitters: [server, server.server],
    netServer: server.server,
    connections: () => server.connections,
  };
  try {
    const base = baseline(watched);
    const raw = net.connect(server.address().port, "127.0.0.1");
    const c = tls.connect({ socket: raw, servername: "localhost", ca: DEMO_ROOT_CA });
    c.on("error", () => {});
    await once(c, "secureConnect");
    c.pause();
    raw.pause(); // read nothing more: the server's writes back up
    await sleep(500);
    assert.ok(writer, "the server is writing");
    const queued = writer.written;
    assert.ok(queued < MAX_QUEUED_MIB, `backpressure: ${queued} MiB taken while the peer reads nothing`);
    raw.resetAndDestroy();
    await expectNoLeak(watched, base, "write error");
    assert.equal(clientErrors.length, 1, "one error, on the server's tlsClientError");
    assert.match(code(clientErrors[0]), /ECONNRESET|EPIPE/);
    assert.equal(serverSock?.destroyed, true);
    assert.ok(writer.ok < queued, "not every write succeeded");
    assert.ok(writer.failed.length >= 1, "the pending write's callback got the error");
    assert.equal(writer.written, queued, "no more writes after the error");
  } finally {
    server.close();
  }
});

test("our server: an error listener of the application gets the error instead", {
  timeout: 30_000,
}, async () => {
  const server = createServer({ cert: DEMO_SERVER_CERT, key: DEMO_SERVER_KEY });
  const reported: Error[] = [];
  const own: Error[] = [];
  server.on("tlsClientError", (e: Error) => reported.push(e));
  server.on("secureConnection", (s: TLSSocket) => {
    s.on("error", (e: Error) => own.push(e));
    writeLots(s);
  });
  await listenLocal(server);
  const watched: Watched = {
    emitters: [server, server.server],
    netServer: server.server,
    connections: () => server.connections,
  };
  try {
    const base = baseline(watched);
    const raw = net.connect(server.address().port, "127.0.0.1");
    const c = tls.connect({ socket: raw, servername: "localhost", ca: DEMO_ROOT_CA });
    c.on("error", () => {});
    await once(c, "secureConnect");
    c.pause();
    raw.pause();
    await sleep(200);
    raw.resetAndDestroy();
    await expectNoLeak(watched, base, "write error, own listener");
    assert.equal(own.length, 1);
    assert.equal(reported.length, 0);
  } finally {
    server.close();
  }
});

test("our client: the server stops reading, then its connection resets while we write", {
  timeout: 30_000,
}, async () => {
  // node:tls server that reads nothing after the handshake; the proxy in front resets on cue.
  const peers: tls.TLSSocket[] = [];
  const backend = tls.createServer({ cert: DEMO_SERVER_CERT, key: DEMO_SERVER_KEY }, (s) => {
    s.on("error", () => {});
    s.pause();
    peers.push(s);
  });
  await listenLocal(backend);
  let toReset: net.Socket | undefined;
  const proxy = await faultProxy((backend.address() as net.AddressInfo).port, (client) => {
    toReset = client;
  });
  try {
    const watched: Watched = { emitters: [] };
    const base = baseline(watched);
    const c = connect({ host: "127.0.0.1", port: proxy.port, servername: "localhost", ca: DEMO_ROOT_CA });
    const errors: Error[] = [];
    c.on("error", (e: Error) => errors.push(e));
    await once(c, "secureConnect");
    const writer = writeLots(c);
    await sleep(500);
    const queued = writer.written;
    assert.ok(queued < MAX_QUEUED_MIB, `backpressure: ${queued} MiB taken while the peer reads nothing`);
    assert.ok(toReset);
    toReset.resetAndDestroy();
    await closed(c);
    assert.equal(errors.length, 1);
    assert.match(code(errors[0]), /ECONNRESET|EPIPE/);
    assert.ok(writer.failed.length >= 1, "the pending write's callback got the error");
    assert.equal(writer.written, queued);
    for (const p of peers) p.destroy(); // paused, the peer would never see its EOF
    await expectNoLeak(watched, base, "client write error");
  } finally {
    proxy.server.close();
    backend.close();
  }
});
