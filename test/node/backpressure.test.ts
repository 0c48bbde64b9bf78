import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { once } from "node:events";
import type * as net from "node:net";
import { Duplex } from "node:stream";
import { describe, test } from "node:test";
import * as tls from "node:tls";
import { DEMO_ROOT_CA, DEMO_SERVER_CERT, DEMO_SERVER_KEY } from "../../src/cli/demo-certs.js";
import { ClientConfig, ServerConfig } from "../../src/config.js";
import { ClientConnection, ServerConnection } from "../../src/connection.js";
import { createServer, type TLSServer } from "../../src/index.js";
import { TLSSocket } from "../../src/node/socket.js";

/**
 * Backpressure through the Node adapter, against real sockets: a peer that stops reading, or an
 * application that stops reading, cannot make TypeTLS buffer without bound.
 */

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function listen(server: TLSServer): Promise<number> {
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return (server.address() as net.AddressInfo).port;
}

/** What a TypeTLS socket holds for its application and its peer, in bytes. */
function held(s: TLSSocket): number {
  return s.readableLength + s.writableLength + s.connection.bufferedInput + s.socket.writableLength;
}

describe("backpressure (Node adapter)", () => {
  test("an application that stops reading stops the socket; nothing is lost when it reads again", {
    timeout: 30000,
  }, async () => {
    const payload = randomBytes(24 * 1024 * 1024);
    let serverSide: TLSSocket | undefined;
    const server = createServer({ cert: DEMO_SERVER_CERT, key: DEMO_SERVER_KEY }, (s) => {
      serverSide = s;
      s.pause(); // the application does not read
    });
    const port = await listen(server);
    try {
      const c = tls.connect({ port, host: "127.0.0.1", servername: "localhost", ca: DEMO_ROOT_CA });
      await once(c, "secureConnect");
      let written = 0;
      let blocked = false;
      const write = () => {
        while (written < payload.length) {
          const chunk = payload.subarray(written, written + 65536);
          written += chunk.length;
          if (!c.write(chunk)) {
            blocked = true;
            c.once("drain", () => {
              blocked = false;
              write();
            });
            return;
          }
        }
        c.end();
      };
      write();
      await sleep(1500);
      assert.ok(serverSide, "the server accepted");
      assert.ok(blocked, "the client is held back by TCP");
      assert.ok(written < payload.length, "the client could not push everything");
      const peak = held(serverSide);
      assert.ok(peak < 1024 * 1024, `the server holds ${peak} bytes`);
      assert.ok(serverSide.socket.isPaused(), "the server stopped reading its socket");

      // Now the application reads: every byte arrives, in order.
      const hash = createHash("sha256");
      let got = 0;
      serverSide.on("data", (d: Buffer) => {
        hash.update(d);
        got += d.length;
      });
      serverSide.resume();
      await once(serverSide, "end");
      assert.equal(got, payload.length);
      assert.equal(hash.digest("hex"), createHash("sha256").update(payload).digest("hex"));
      c.destroy();
    } finally {
      server.close();
    }
  });

  test("writes made before the handshake completes wait for it (write() reports the backpressure)", {
    timeout: 20000,
  }, async () => {
    const server = createServer({ cert: DEMO_SERVER_CERT, key: DEMO_SERVER_KEY }, (s) => {
      s.pipe(s); // echo
    });
    const port = await listen(server);
    try {
      const { connect } = await import("../../src/index.js");
      const c = connect({ host: "127.0.0.1", port, servername: "localhost", ca: DEMO_ROOT_CA });
      const big = randomBytes(3 * 1024 * 1024); // above maxBufferedPlaintext: held by the stream, not the connection
      assert.equal(c.write(big), false, "the writer is told to wait");
      c.end();
      const hash = createHash("sha256");
      let got = 0;
      c.on("data", (d: Buffer) => {
        hash.update(d);
        got += d.length;
      });
      await once(c, "end");
      assert.equal(got, big.length);
      assert.equal(hash.digest("hex"), createHash("sha256").update(big).digest("hex"));
    } finally {
      server.close();
    }
  });

  test("a peer that sends KeyUpdate requests but never reads the answers: the server stops reading", async () => {
    // A transport whose far end reads during the handshake and then never again (its write callback
    // is never called): what TypeTLS answers piles up in it, and TypeTLS must stop reading.
    const client = new ClientConnection(new ClientConfig({ ca: DEMO_ROOT_CA, maxVersion: "TLSv1.3" }), {
      serverName: "localhost",
    });
    let peerReads = true;
    const transport = new Duplex({
      highWaterMark: 16384,
      read() {},
      write(chunk: Buffer, _enc, cb) {
        if (!peerReads) return; // never acknowledged
        client.receive(chunk);
        cb();
      },
    });
    const server = new TLSSocket(
      transport as unknown as net.Socket,
      new ServerConnection(new ServerConfig({ cert: DEMO_SERVER_CERT, key: DEMO_SERVER_KEY })),
      { maxQueuedOutput: 32 * 1024 }, // (default 1 MiB; smaller here so that 5,000 rounds show it)
    );
    let rounds = 0;
    server.on("data", (d: Buffer) => {
      rounds += d.length;
    });
    server.on("error", () => {});
    const secure = once(server, "secure");
    const clientDone = new Promise<void>((r) => client.on("handshake", () => r()));
    transport.push(client.takeOutgoing()); // ClientHello
    await clientDone;
    transport.push(client.takeOutgoing()); // client Finished
    await secure;
    peerReads = false;

    // 5,000 rounds of: KeyUpdate asking the server to update too (it must answer), one byte of data
    // (so that the post-handshake burst limit does not end it first).
    const inside = client as unknown as {
      ctx: unknown;
      state: { requestKeyUpdate(c: unknown, r: boolean): void };
    };
    const ROUNDS = 5000;
    const wire: Buffer[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      inside.state.requestKeyUpdate(inside.ctx, true);
      client.write(Uint8Array.of(1));
      wire.push(Buffer.from(client.takeOutgoing()));
    }
    const all = Buffer.concat(wire);
    for (let o = 0; o < all.length; o += 65536) transport.push(all.subarray(o, o + 65536));
    // Wait until the server makes no more progress (it is slow under load: each round is two key derivations).
    for (let last = -1; last !== rounds; ) {
      last = rounds;
      await sleep(400);
    }
    const answers = transport.writableLength;
    assert.ok(rounds > 100, `the server read ${rounds} rounds`);
    assert.ok(rounds < ROUNDS, `the server stopped reading (${rounds} of ${ROUNDS} rounds read)`);
    assert.ok(answers < 128 * 1024, `the server holds ${answers} bytes of answers`);
    assert.ok(transport.isPaused(), "the transport is not read");
    assert.ok(transport.readableLength > 0, "the rest waits in the transport, not in TypeTLS");
    server.destroy();
  });
});
