/**
 * How connections end: TLS 1.3 half-close (RFC 8446 §6.1: after the peer's close_notify we may still
 * write, then close) with allowHalfOpen, both roles; the default answer at once; and a peer that
 * ends TCP without close_notify, which is reported as truncation ('truncated', TLSSocket.truncated)
 * while the application still sees an ordinary end. Nothing may be left behind.
 */
import assert from "node:assert/strict";
import { once } from "node:events";
import * as net from "node:net";
import { describe, test } from "node:test";
import * as tls from "node:tls";
import { DEMO_ROOT_CA, DEMO_SERVER_CERT, DEMO_SERVER_KEY } from "../../src/cli/demo-certs.js";
import type { AlertEvent } from "../../src/connection.js";
import { connect, createServer, type TLSServer, type TLSSocket } from "../../src/index.js";
import { baseline, closed, expectNoLeak, faultProxy, listenLocal, sleep, type Watched } from "./leaks.js";

function watch(server: TLSServer): Watched {
  return {
    emitters: [server, server.server],
    netServer: server.server,
    connections: () => server.connections,
  };
}

/** Everything a readable side delivers until it ends, and whether it ended. */
function collect(s: NodeJS.ReadableStream): { text: () => string; ended: Promise<void> } {
  let text = "";
  s.on("data", (d: Buffer) => {
    text += d.toString();
  });
  return { text: () => text, ended: new Promise((r) => s.once("end", () => r())) };
}

describe("half-close (TLS 1.3)", () => {
  test("our server, allowHalfOpen: writes after the client's close_notify, then closes", {
    timeout: 20_000,
  }, async () => {
    const server = createServer({ cert: DEMO_SERVER_CERT, key: DEMO_SERVER_KEY, allowHalfOpen: true });
    const order: string[] = [];
    const serverErrors: Error[] = [];
    server.on("tlsClientError", (e: Error) => serverErrors.push(e));
    server.on("secureConnection", (s: TLSSocket) => {
      s.on("alert", (a: AlertEvent) => order.push(`${a.sentBy} ${a.name}`));
      const req = collect(s);
      void req.ended.then(async () => {
        order.push(`end after ${JSON.stringify(req.text())}`);
        await sleep(100); // well after the close_notify: the writable side must still be open
        order.push(`writable ${s.writable}`);
        s.write("response, ");
        s.end("then close_notify");
      });
    });
    await listenLocal(server);
    const watched = watch(server);
    try {
      const base = baseline(watched);
      const c = tls.connect({
        port: server.address().port,
        host: "127.0.0.1",
        servername: "localhost",
        ca: DEMO_ROOT_CA,
        minVersion: "TLSv1.3",
      });
      await once(c, "secureConnect");
      const got = collect(c);
      const gone = closed(c);
      c.end("request"); // request, close_notify, TCP FIN
      await got.ended;
      await gone;
      assert.equal(got.text(), "response, then close_notify");
      assert.deepEqual(order, [
        "peer close_notify",
        'end after "request"',
        "writable true",
        "local close_notify",
      ]);
      assert.deepEqual(serverErrors, []);
      await expectNoLeak(watched, base, "half-close");
    } finally {
      server.close();
    }
  });

  test("our client, allowHalfOpen: writes after the server's close_notify, then closes", {
    timeout: 20_000,
  }, async () => {
    let serverGot = "";
    const serverDone = new Promise<void>((resolve) => {
      const server = tls.createServer(
        { cert: DEMO_SERVER_CERT, key: DEMO_SERVER_KEY, allowHalfOpen: true, minVersion: "TLSv1.3" },
        (s) => {
          s.end("bye from the server"); // data, close_notify, FIN: and it keeps reading
          s.on("data", (d: Buffer) => {
            serverGot += d.toString();
          });
          s.on("end", () => {
            server.close();
            resolve();
          });
        },
      );
      void listenLocal(server).then(() => run((server.address() as net.AddressInfo).port));
    });
    const watched: Watched = { emitters: [] };
    const base = baseline(watched);
    let clientText = "";
    let clientClosed: Promise<void> = Promise.resolve();
    async function run(port: number): Promise<void> {
      const c = connect({
        host: "127.0.0.1",
        port,
        servername: "localhost",
        ca: DEMO_ROOT_CA,
        allowHalfOpen: true,
      });
      c.on("error", (e) => assert.fail(e));
      clientClosed = closed(c);
      const got = collect(c);
      await got.ended;
      clientText = got.text();
      await sleep(100);
      assert.equal(c.writable, true, "still writable after the server's close_notify");
      c.end("late words from the client");
    }
    await serverDone;
    await clientClosed;
    assert.equal(clientText, "bye from the server");
    assert.equal(serverGot, "late words from the client");
    await expectNoLeak(watched, base, "client half-close");
  });

  test("by default the close_notify is answered at once", { timeout: 20_000 }, async () => {
    const server = createServer({ cert: DEMO_SERVER_CERT, key: DEMO_SERVER_KEY });
    const sent: string[] = [];
    server.on("secureConnection", (s: TLSSocket) => {
      s.on("alert", (a: AlertEvent) => sent.push(`${a.sentBy} ${a.name}`));
      s.resume();
    });
    await listenLocal(server);
    const watched = watch(server);
    try {
      const base = baseline(watched);
      const c = tls.connect({
        port: server.address().port,
        host: "127.0.0.1",
        servername: "localhost",
        ca: DEMO_ROOT_CA,
      });
      await once(c, "secureConnect");
      c.resume();
      c.end();
      await closed(c);
      assert.deepEqual(sent, ["peer close_notify", "local close_notify"]);
      await expectNoLeak(watched, base, "default close");
    } finally {
      server.close();
    }
  });
});

describe("truncation: TCP ends without close_notify", () => {
  for (const allowHalfOpen of [false, true]) {
    test(`our server reports it (allowHalfOpen ${allowHalfOpen}); the application sees an end`, {
      timeout: 20_000,
    }, async () => {
      const server = createServer({ cert: DEMO_SERVER_CERT, key: DEMO_SERVER_KEY, allowHalfOpen });
      const seen: string[] = [];
      const errors: Error[] = [];
      server.on("tlsClientError", (e: Error) => errors.push(e));
      server.on("secureConnection", (s: TLSSocket) => {
        const got = collect(s);
        s.on("truncated", () => seen.push(`truncated ${s.truncated}`));
        s.on("end", () => {
          seen.push(`end after ${JSON.stringify(got.text())}`);
          if (allowHalfOpen) s.end(); // half-open: closing our side is the application's call
        });
        s.on("close", () => seen.push("close"));
      });
      await listenLocal(server);
      const watched = watch(server);
      try {
        const base = baseline(watched);
        const raw = net.connect(server.address().port, "127.0.0.1");
        const c = tls.connect({ socket: raw, servername: "localhost", ca: DEMO_ROOT_CA });
        c.on("error", () => {});
        await once(c, "secureConnect");
        await new Promise<void>((r) => c.write("all I had to say", () => r()));
        await sleep(50);
        raw.end(); // FIN, no close_notify
        await closed(raw);
        c.destroy();
        await expectNoLeak(watched, base, "truncation");
        assert.deepEqual(seen, ["truncated true", 'end after "all I had to say"', "close"]);
        assert.deepEqual(errors, [], "truncation is not an error");
      } finally {
        server.close();
      }
    });
  }

  test("a write after a truncation (socket not half-open) fails with EPIPE instead of vanishing", {
    timeout: 20_000,
  }, async () => {
    const server = createServer({ cert: DEMO_SERVER_CERT, key: DEMO_SERVER_KEY });
    const reported: Error[] = [];
    server.on("tlsClientError", (e: Error) => reported.push(e));
    let writeResult: Error | null | undefined;
    server.on("secureConnection", (s: TLSSocket) => {
      s.pause(); // the application is busy: its readable side has not ended yet
      s.on("truncated", () =>
        setImmediate(() =>
          s.write("too late", (e) => {
            writeResult = e;
          }),
        ),
      );
    });
    await listenLocal(server);
    const watched = watch(server);
    try {
      const base = baseline(watched);
      const raw = net.connect(server.address().port, "127.0.0.1");
      const c = tls.connect({ socket: raw, servername: "localhost", ca: DEMO_ROOT_CA });
      c.on("error", () => {});
      await once(server, "secureConnection"); // the server's side of the handshake is done too
      raw.end(); // FIN, no close_notify
      await closed(raw);
      c.destroy();
      await expectNoLeak(watched, base, "write after truncation");
      assert.match(String((writeResult as { code?: string } | undefined)?.code), /EPIPE/);
      assert.equal(reported.length, 1);
    } finally {
      server.close();
    }
  });

  test("our client reports it when a node:tls server's TCP ends without close_notify", {
    timeout: 20_000,
  }, async () => {
    const backend = tls.createServer({ cert: DEMO_SERVER_CERT, key: DEMO_SERVER_KEY }, (s) => {
      s.on("error", () => {});
      s.write("partial answer");
    });
    await listenLocal(backend);
    // The connection's TCP ends (FIN, no close_notify) 100 ms after the server's last bytes.
    let timer: NodeJS.Timeout | undefined;
    const server = (
      await faultProxy((backend.address() as net.AddressInfo).port, (client) => {
        clearTimeout(timer);
        timer = setTimeout(() => client.end(), 100);
      })
    ).server;
    server.on("close", () => backend.close());
    try {
      const watched: Watched = { emitters: [] };
      const base = baseline(watched);
      const c = connect({
        host: "127.0.0.1",
        port: (server.address() as net.AddressInfo).port,
        servername: "localhost",
        ca: DEMO_ROOT_CA,
      });
      const errors: Error[] = [];
      c.on("error", (e: Error) => errors.push(e));
      let truncatedEvent = false;
      c.on("truncated", () => {
        truncatedEvent = true;
      });
      const got = collect(c);
      const gone = closed(c);
      await got.ended;
      await gone;
      assert.equal(got.text(), "partial answer");
      assert.equal(truncatedEvent, true);
      assert.equal(c.truncated, true);
      assert.deepEqual(errors, []);
      await expectNoLeak(watched, base, "client truncation");
    } finally {
      server.close();
    }
  });

  test("a clean close is not a truncation", { timeout: 20_000 }, async () => {
    const server = createServer({ cert: DEMO_SERVER_CERT, key: DEMO_SERVER_KEY });
    let serverTruncated: boolean | undefined;
    server.on("secureConnection", (s: TLSSocket) => {
      s.resume();
      s.on("close", () => {
        serverTruncated = s.truncated;
      });
    });
    await listenLocal(server);
    try {
      const c = tls.connect({
        port: server.address().port,
        host: "127.0.0.1",
        servername: "localhost",
        ca: DEMO_ROOT_CA,
      });
      await once(c, "secureConnect");
      c.resume();
      c.end();
      await closed(c);
      while (serverTruncated === undefined) await sleep(10);
      assert.equal(serverTruncated, false);
    } finally {
      server.close();
    }
  });
});
