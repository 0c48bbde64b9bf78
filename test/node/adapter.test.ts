import assert from "node:assert/strict";
import { once } from "node:events";
import * as net from "node:net";
import { describe, test } from "node:test";
import * as tls from "node:tls";
import { DEMO_ROOT_CA, DEMO_SERVER_CERT, DEMO_SERVER_KEY } from "../../src/cli/demo-certs.js";
import { connect, createServer, TLSError, type TLSServer } from "../../src/index.js";

/** The Node adapter against raw sockets: bad peers end in a typed error and a closed socket, never a hang or a crash. */

async function listen(server: net.Server | TLSServer): Promise<number> {
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return (server.address() as net.AddressInfo).port;
}

function rawServer(onConn: (s: net.Socket) => void): net.Server {
  return net.createServer(onConn);
}

/** Collects everything a raw client receives until the server closes. */
async function rawExchange(port: number, send: Buffer[]): Promise<Buffer> {
  const sock = net.connect(port, "127.0.0.1");
  await once(sock, "connect");
  const got: Buffer[] = [];
  sock.on("data", (d) => got.push(d));
  for (const b of send) sock.write(b);
  await Promise.race([once(sock, "close"), new Promise((r) => setTimeout(r, 3000))]);
  sock.destroy();
  return Buffer.concat(got);
}

describe("TypeTLS server against raw, hostile clients", () => {
  test("an oversized record gets a record_overflow alert, and the server keeps serving", {
    timeout: 10000,
  }, async () => {
    const errors: TLSError[] = [];
    const server = createServer({ cert: DEMO_SERVER_CERT, key: DEMO_SERVER_KEY });
    server.on("tlsClientError", (e: TLSError) => errors.push(e));
    const port = await listen(server);
    try {
      const reply = await rawExchange(port, [Buffer.from([0x16, 0x03, 0x01, 0x48, 0x01])]);
      // alert record, TLS 1.0 record version (nothing negotiated yet), fatal record_overflow
      assert.deepEqual([...reply], [0x15, 0x03, 0x01, 0x00, 0x02, 0x02, 22]);
      assert.equal(errors[0]?.alertName, "record_overflow");
      // Still serving: a real client completes a handshake.
      const c = tls.connect({ port, host: "127.0.0.1", servername: "localhost", ca: DEMO_ROOT_CA });
      await once(c, "secureConnect");
      assert.equal(c.getProtocol(), "TLSv1.3");
      c.destroy();
    } finally {
      server.close();
    }
  });

  test("a truncated ClientHello then EOF is reported, not left hanging", { timeout: 10000 }, async () => {
    const server = createServer({ cert: DEMO_SERVER_CERT, key: DEMO_SERVER_KEY });
    const errs: Error[] = [];
    server.on("tlsClientError", (e: Error) => errs.push(e));
    const port = await listen(server);
    try {
      const sock = net.connect(port, "127.0.0.1");
      sock.resume(); // read (and drop) whatever the server answers, so that 'close' can come
      await once(sock, "connect");
      sock.end(Buffer.from([0x16, 0x03, 0x01, 0x01, 0x00, 0x01, 0x00, 0x00]));
      await once(sock, "close");
      await new Promise((r) => setTimeout(r, 50));
      assert.equal(errs.length, 1);
      assert.equal(server.connections, 0, "the connection is gone from the server");
    } finally {
      server.close();
    }
  });

  test("a client that sends nothing is cut off by the handshake timeout", { timeout: 10000 }, async () => {
    const server = createServer({ cert: DEMO_SERVER_CERT, key: DEMO_SERVER_KEY, handshakeTimeout: 200 });
    const errs: TLSError[] = [];
    server.on("tlsClientError", (e: TLSError) => errs.push(e));
    const port = await listen(server);
    try {
      const started = Date.now();
      const sock = net.connect(port, "127.0.0.1");
      sock.resume();
      await once(sock, "close");
      assert.ok(Date.now() - started < 3000);
      assert.match(errs[0]?.message ?? "", /handshake not complete/);
    } finally {
      server.close();
    }
  });
});

describe("TypeTLS client against raw, hostile servers", () => {
  test("a server that answers with garbage: unexpected_message, typed error", {
    timeout: 10000,
  }, async () => {
    const server = rawServer((s) =>
      s.once("data", () => s.end(Buffer.from("HTTP/1.1 400 Bad Request\r\n\r\n"))),
    );
    const port = await listen(server);
    try {
      const c = connect({ host: "127.0.0.1", port, servername: "localhost", ca: DEMO_ROOT_CA });
      const [err] = (await once(c, "error")) as [TLSError];
      assert.ok(err instanceof TLSError);
      assert.equal(err.sentBy, "local");
    } finally {
      server.close();
    }
  });

  test("a server that closes mid-record: the client errors instead of hanging", {
    timeout: 10000,
  }, async () => {
    const server = rawServer((s) =>
      s.once("data", () => s.end(Buffer.from([0x16, 0x03, 0x03, 0x00, 0x50, 0x02, 0x00]))),
    );
    const port = await listen(server);
    try {
      const c = connect({ host: "127.0.0.1", port, servername: "localhost", ca: DEMO_ROOT_CA });
      const [err] = (await once(c, "error")) as [Error];
      assert.match(String((err as { code?: string }).code), /ECONNRESET/);
    } finally {
      server.close();
    }
  });

  test("the server's alert is reported with its name", { timeout: 10000 }, async () => {
    const server = rawServer((s) =>
      s.once("data", () => s.end(Buffer.from([0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 40]))),
    );
    const port = await listen(server);
    try {
      const c = connect({ host: "127.0.0.1", port, servername: "localhost", ca: DEMO_ROOT_CA });
      const [err] = (await once(c, "error")) as [TLSError];
      assert.equal(err.alertName, "handshake_failure");
      assert.equal(err.sentBy, "peer");
      assert.equal(err.code, "ERR_TLS_PEER_ALERT_HANDSHAKE_FAILURE");
    } finally {
      server.close();
    }
  });
});
