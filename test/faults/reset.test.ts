/**
 * TCP resets (RST) in the middle of the handshake and in the middle of a transfer, against our
 * server and our client, with node:tls and raw sockets as peers. Each ends in one error on the
 * TLSSocket (never an uncaught exception), and nothing is left behind: no connection, timer,
 * socket or listener.
 */
import assert from "node:assert/strict";
import { once } from "node:events";
import * as net from "node:net";
import { describe, test } from "node:test";
import * as tls from "node:tls";
import { DEMO_ROOT_CA, DEMO_SERVER_CERT, DEMO_SERVER_KEY } from "../../src/cli/demo-certs.js";
import {
  type ConnectOptions,
  connect,
  createServer,
  type TLSServer,
  type TLSSocket,
} from "../../src/index.js";
import {
  baseline,
  clientHelloBytes,
  closed,
  expectNoLeak,
  faultProxy,
  listenLocal,
  sleep,
  type Watched,
} from "./leaks.js";

function errCode(e: unknown): string {
  return String((e as { code?: unknown }).code);
}

async function ourServer(): Promise<{ server: TLSServer; port: number; watched: Watched; errors: Error[] }> {
  const server = createServer({ cert: DEMO_SERVER_CERT, key: DEMO_SERVER_KEY });
  const errors: Error[] = [];
  server.on("tlsClientError", (e: Error) => errors.push(e));
  await listenLocal(server);
  return {
    server,
    port: server.address().port,
    errors,
    watched: {
      emitters: [server, server.server],
      netServer: server.server,
      connections: () => server.connections,
    },
  };
}

describe("our server, the peer resets", () => {
  test("mid-handshake: RST after the ServerHello flight", { timeout: 20_000 }, async () => {
    const { server, port, watched, errors } = await ourServer();
    try {
      const base = baseline(watched);
      const raw = net.connect(port, "127.0.0.1");
      await once(raw, "connect");
      raw.write(clientHelloBytes());
      await once(raw, "data"); // the server's first flight: it now waits for our Finished
      assert.equal(server.connections, 1);
      raw.resetAndDestroy();
      await expectNoLeak(watched, base, "RST mid-handshake");
      assert.equal(errors.length, 1, "one tlsClientError");
      assert.equal(errCode(errors[0]), "ECONNRESET");
    } finally {
      server.close();
    }
  });

  test("mid-transfer: a node:tls client resets while data flows both ways", { timeout: 20_000 }, async () => {
    const { server, port, watched, errors } = await ourServer();
    const serverSide: TLSSocket[] = [];
    server.on("secureConnection", (s: TLSSocket) => {
      serverSide.push(s);
      s.on("data", (d: Buffer) => s.write(d)); // echo
    });
    try {
      const base = baseline(watched);
      const raw = net.connect(port, "127.0.0.1");
      const c = tls.connect({ socket: raw, servername: "localhost", ca: DEMO_ROOT_CA });
      c.on("error", () => {}); // the client's own view of its reset does not matter here
      await once(c, "secureConnect");
      let echoed = 0;
      c.on("data", (d: Buffer) => {
        echoed += d.length;
      });
      const chunk = Buffer.alloc(64 * 1024, 7);
      for (let i = 0; i < 8; i++) c.write(chunk);
      while (echoed < chunk.length) await sleep(5);
      raw.resetAndDestroy();
      await expectNoLeak(watched, base, "RST mid-transfer");
      assert.equal(errors.length, 1, "one tlsClientError");
      // The echo may be writing when the RST lands: then the write fails first (EPIPE), else the read.
      assert.ok(["ECONNRESET", "EPIPE"].includes(errCode(errors[0])), `got ${errCode(errors[0])}`);
      assert.equal(serverSide[0]?.destroyed, true);
    } finally {
      server.close();
    }
  });

  test("the server goes on serving after resets", { timeout: 20_000 }, async () => {
    const { server, port, watched } = await ourServer();
    server.on("secureConnection", (s: TLSSocket) => s.on("data", (d: Buffer) => s.write(d)));
    try {
      const base = baseline(watched);
      // 20 resets at random points of the handshake, all at once.
      const hello = clientHelloBytes();
      await Promise.all(
        Array.from({ length: 20 }, async (_, i) => {
          const raw = net.connect(port, "127.0.0.1");
          raw.on("error", () => {});
          await once(raw, "connect");
          raw.write(hello.subarray(0, (i * 37) % hello.length || 1));
          await sleep(i);
          raw.resetAndDestroy();
        }),
      );
      await expectNoLeak(watched, base, "20 resets");
      const c = tls.connect({ port, host: "127.0.0.1", servername: "localhost", ca: DEMO_ROOT_CA });
      await once(c, "secureConnect");
      c.write("ping");
      const [d] = (await once(c, "data")) as [Buffer];
      assert.equal(d.toString(), "ping");
      c.end();
      await closed(c);
      await expectNoLeak(watched, base, "after a clean connection");
    } finally {
      server.close();
    }
  });
});

/** A node:tls echo server behind a proxy that calls `fault` on each chunk the server sends. */
async function nodeServerBehindProxy(fault: (client: net.Socket, index: number) => void) {
  const backend = tls.createServer({ cert: DEMO_SERVER_CERT, key: DEMO_SERVER_KEY }, (s) => {
    s.on("error", () => {});
    s.on("data", (d: Buffer) => s.write(d));
  });
  await listenLocal(backend);
  const proxy = await faultProxy((backend.address() as net.AddressInfo).port, fault);
  return {
    port: proxy.port,
    close: () => {
      proxy.server.close();
      backend.close();
    },
  };
}

async function ourClientFails(port: number, options: Partial<ConnectOptions> = {}) {
  const watched: Watched = { emitters: [] };
  const base = baseline(watched);
  const c = connect({ host: "127.0.0.1", port, servername: "localhost", ca: DEMO_ROOT_CA, ...options });
  const errors: Error[] = [];
  c.on("error", (e: Error) => errors.push(e));
  let secure = false;
  c.on("secureConnect", () => {
    secure = true;
  });
  return { c, errors, secure: () => secure, noLeak: (what: string) => expectNoLeak(watched, base, what) };
}

describe("our client, the server resets", () => {
  test("mid-handshake: RST right after the ClientHello arrives", { timeout: 20_000 }, async () => {
    const server = net.createServer((raw) => raw.once("data", () => raw.resetAndDestroy()));
    await listenLocal(server);
    try {
      const run = await ourClientFails((server.address() as net.AddressInfo).port);
      await closed(run.c);
      assert.equal(run.errors.length, 1);
      assert.equal(errCode(run.errors[0]), "ECONNRESET");
      assert.equal(run.c.connection.connectionState, "closed");
      await run.noLeak("client RST mid-handshake");
    } finally {
      server.close();
    }
  });

  test("mid-handshake: a node:tls server's connection resets after its first flight (TLS 1.2)", {
    timeout: 20_000,
  }, async () => {
    // In TLS 1.2 the client still waits for the server's Finished after that flight (in TLS 1.3
    // the flight has it).
    const peer = await nodeServerBehindProxy((client, i) => {
      if (i === 0) client.resetAndDestroy();
    });
    try {
      const run = await ourClientFails(peer.port, { maxVersion: "TLSv1.2" });
      await closed(run.c);
      assert.equal(run.errors.length, 1, "one error");
      assert.equal(errCode(run.errors[0]), "ECONNRESET");
      assert.equal(run.secure(), false, "the handshake did not complete");
      await run.noLeak("client RST after the server's flight");
    } finally {
      peer.close();
    }
  });

  test("mid-transfer: the connection to a node:tls server resets while it echoes", {
    timeout: 20_000,
  }, async () => {
    let echoing = false;
    const peer = await nodeServerBehindProxy((client) => {
      if (echoing) client.resetAndDestroy();
    });
    try {
      const run = await ourClientFails(peer.port);
      await once(run.c, "secureConnect");
      await sleep(50); // the server's tickets have come
      echoing = true;
      const chunk = Buffer.alloc(64 * 1024, 9);
      for (let i = 0; i < 8; i++) run.c.write(chunk);
      await closed(run.c);
      assert.equal(run.errors.length, 1);
      assert.equal(errCode(run.errors[0]), "ECONNRESET");
      assert.equal(run.c.destroyed, true);
      await run.noLeak("client RST mid-transfer");
    } finally {
      peer.close();
    }
  });
});
