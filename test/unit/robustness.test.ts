import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { ClientConfig, ServerConfig } from "../../src/config.js";
import { ClientConnection, type Connection, ServerConnection } from "../../src/connection.js";
import { TLSError } from "../../src/errors.js";
import { demo } from "./pair.js";
import { parseRecords } from "./records.js";

/**
 * Whatever bytes a peer sends, in whatever chunks: receive() never throws, at most one error is
 * reported and it is a TLSError, and a failed connection stays closed.
 */
const serverConfig = new ServerConfig({ cert: demo.cert, key: demo.key });
const clientConfig = new ClientConfig({ ca: demo.ca });

function feed(conn: Connection, chunks: Uint8Array[]): void {
  const errors: unknown[] = [];
  conn.on("error", (e) => errors.push(e));
  for (const c of chunks) conn.receive(c);
  assert.ok(errors.length <= 1, "at most one error");
  if (errors.length === 1) {
    assert.ok(errors[0] instanceof TLSError);
    assert.equal(conn.connectionState, "closed");
  }
}

/** A real ClientHello (both versions offered) to mutate. */
const realHello = new ClientConnection(clientConfig, { serverName: "localhost" }).takeOutgoing();

test("server: random and mutated ClientHello bytes never throw", () => {
  fc.assert(
    fc.property(
      fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 5 }),
      fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 6 }),
      fc.integer({ min: 1, max: 400 }),
      (random, flips, cut) => {
        feed(new ServerConnection(serverConfig), random);
        const m = new Uint8Array(realHello);
        for (const [i, v] of flips) m[i % m.length] = v;
        const chunks: Uint8Array[] = [];
        for (let o = 0; o < m.length; o += cut) chunks.push(m.subarray(o, o + cut));
        feed(new ServerConnection(serverConfig), chunks);
      },
    ),
    { numRuns: 300 },
  );
});

test("client: random and mutated server flights never throw", () => {
  const s = new ServerConnection(serverConfig);
  s.receive(realHello);
  const flight = s.takeOutgoing();
  assert.ok(parseRecords(flight).length >= 2);
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }),
      (flips) => {
        const c = new ClientConnection(clientConfig, { serverName: "localhost" });
        c.takeOutgoing();
        const m = new Uint8Array(flight);
        for (const [i, v] of flips) m[i % m.length] = v;
        feed(c, [m]);
      },
    ),
    { numRuns: 200 },
  );
});
