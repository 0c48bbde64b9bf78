/**
 * No secret in an error or a log: full handshakes (TLS 1.2 and 1.3, both roles, resumption, client
 * certificates, RSA key transport) and failures (bad Finished both ways, bad record MAC, bad and
 * expired certificates), collecting every error (message, stack, JSON, cause chain), trace event,
 * alert event and the handshake info. None may contain a secret: the key log's secrets, every
 * HMAC/AEAD key, shared secret and pre-master secret seen by the crypto provider, the private keys.
 * Without a 'keylog' listener, no key log line is emitted at all.
 */
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { ClientConfig, type ClientOptions, ServerConfig, type ServerOptions } from "../../src/config.js";
import { ClientConnection, type Connection, ServerConnection } from "../../src/connection.js";
import { nodeCrypto } from "../../src/crypto/node.js";
import { connect, createServer } from "../../src/node/api.js";
import type { TLSSocket } from "../../src/node/socket.js";
import type { TLSSession } from "../../src/session/client-session.js";
import { MemorySessionStore } from "../../src/session/store.js";
import { TicketKeyRing } from "../../src/session/ticket-keys.js";
import { type StandardPki, standardPki } from "../fixtures/pki.js";
import { pump } from "./pair.js";
import {
  assertNoSecret,
  errorTexts,
  json,
  keylogSecrets,
  privateKeySecrets,
  spyCrypto,
} from "./secret-scan.js";

let pki: StandardPki;
before(async () => {
  pki = await standardPki();
});

/** Everything a connection lets an application see or log. */
function collect(conn: Connection, texts: string[], keylog: string[] | null): void {
  conn.on("trace", (e) => texts.push(json(e)));
  conn.on("alert", (a) => texts.push(json(a)));
  conn.on("error", (e) => texts.push(...errorTexts(e)));
  conn.on("handshake", (info) => texts.push(json(info)));
  if (keylog) conn.on("keylog", (l) => keylog.push(l));
}

interface Run {
  c: ClientConnection;
  s: ServerConnection;
  texts: string[];
  keylog: string[];
  secrets: Uint8Array[];
  sessions: TLSSession[];
}

interface Scenario {
  client?: ClientOptions;
  server?: ServerOptions;
  session?: TLSSession;
  /** Flip a bit of HMAC outputs over inputs containing this text, on one side. */
  corrupt?: { side: "client" | "server"; text: string };
  /** Changes the client's bytes after the handshake (record tampering). */
  tamper?: (bytes: Uint8Array) => Uint8Array;
}

const keys = new TicketKeyRing(nodeCrypto);
const sessionStore = new MemorySessionStore();

function run(sc: Scenario): Run {
  const cc = spyCrypto(nodeCrypto, sc.corrupt?.side === "client" ? { corruptHmacWith: sc.corrupt.text } : {});
  const ss = spyCrypto(nodeCrypto, sc.corrupt?.side === "server" ? { corruptHmacWith: sc.corrupt.text } : {});
  const c = new ClientConnection(
    new ClientConfig({ ca: pki.p256.root.certPem, crypto: cc.provider, ...sc.client }),
    sc.session ? { serverName: "localhost", session: sc.session } : { serverName: "localhost" },
  );
  const s = new ServerConnection(
    new ServerConfig({
      cert: pki.p256.chainPem,
      key: pki.p256.leaf.keyPem,
      ticketKeys: keys,
      sessionStore,
      crypto: ss.provider,
      ...sc.server,
    }),
  );
  const texts: string[] = [];
  const keylog: string[] = [];
  const sessions: TLSSession[] = [];
  collect(c, texts, keylog);
  collect(s, texts, keylog);
  c.on("session", (t) => sessions.push(t));
  pump(c, s);
  if (c.connectionState === "established" && s.connectionState === "established") {
    c.write(new TextEncoder().encode("ping"));
    s.write(new TextEncoder().encode("pong"));
    if (sc.tamper) s.receive(sc.tamper(c.takeOutgoing()));
    pump(c, s);
    if (!sc.tamper) {
      s.on("end", () => s.close());
      c.close();
      pump(c, s);
    }
  }
  return { c, s, texts, keylog, secrets: [...cc.secrets, ...ss.secrets], sessions };
}

const KEYS = (): Uint8Array[] => [
  ...privateKeySecrets(pki.p256.leaf.keyPem),
  ...privateKeySecrets(pki.rsa.leaf.keyPem),
  ...privateKeySecrets(pki.client.leaf.keyPem),
  ...privateKeySecrets(pki.untrusted.leaf.keyPem),
  ...privateKeySecrets(pki.expired.leaf.keyPem),
];

function check(r: Run, what: string, keylogExpected = true): void {
  if (keylogExpected) assert.ok(r.keylog.length > 0, `${what}: key log lines`);
  const secrets = [...keylogSecrets(r.keylog), ...r.secrets, ...KEYS()];
  // The ticket keys are secrets too.
  for (const k of keys.all) secrets.push(k.key);
  assertNoSecret(r.texts, secrets, what);
}

/**
 * A resumed TLS 1.2 connection logs CLIENT_RANDOM with its own (new) client random and the
 * session's master secret, on both sides: without it a resumed connection cannot be decrypted.
 */
function assertResumedKeylog(first: Run, second: Run): void {
  const master = (r: Run): string[] =>
    r.keylog.filter((l) => l.startsWith("CLIENT_RANDOM ")).map((l) => l.split(" ")[2]!);
  const randoms = new Set(second.keylog.map((l) => l.split(" ")[1]));
  assert.equal(master(second).length, 2, second.keylog.join("\n"));
  assert.equal(new Set([...master(first), ...master(second)]).size, 1, "the session's master secret");
  assert.equal(randoms.size, 1);
  assert.ok(!first.keylog.some((l) => randoms.has(l.split(" ")[1])), "a new client random");
}

const TLS12: ClientOptions = { maxVersion: "TLSv1.2" };
const TLS13: ClientOptions = { minVersion: "TLSv1.3" };

function expectOk(r: Run, what: string): void {
  assert.equal(r.c.error, null, `${what}: ${r.c.error?.message}`);
  assert.equal(r.s.error, null, `${what}: ${r.s.error?.message}`);
  assert.ok(r.c.handshakeComplete, what);
}

describe("no secret in errors, traces, alerts or the handshake info", () => {
  for (const [name, opts] of [
    ["TLS 1.3", TLS13],
    ["TLS 1.2", TLS12],
  ] as const) {
    it(`${name}: full handshake, data, close; then resumption`, () => {
      const first = run({ client: opts });
      expectOk(first, name);
      check(first, `${name} full`);
      const session = first.sessions.at(-1);
      assert.ok(session, "a session to resume");
      const second = run({ client: opts, session });
      expectOk(second, name);
      assert.equal(second.c.info?.resumed, true, `${name} resumed`);
      check(second, `${name} resumed`);
      if (name === "TLS 1.2") assertResumedKeylog(first, second);
    });
  }

  it("TLS 1.2: resumption by session id (no tickets)", () => {
    const first = run({ client: { ...TLS12, sessionTickets: false } });
    expectOk(first, "1.2 id");
    const session = first.sessions.at(-1);
    assert.ok(session);
    const second = run({ client: { ...TLS12, sessionTickets: false }, session });
    expectOk(second, "1.2 id resumed");
    assert.equal(second.c.info?.resumedWith, "session_id");
    check(second, "TLS 1.2 session id resumption");
    assertResumedKeylog(first, second);
  });

  it("TLS 1.2 RSA key transport (the pre-master secret is in the list)", () => {
    const suite = "TLS_RSA_WITH_AES_256_GCM_SHA384";
    const r = run({
      client: { ...TLS12, ca: pki.rsa.root.certPem, cipherSuites: [suite], enableLegacyRsaKeyExchange: true },
      server: {
        cert: pki.rsa.chainPem,
        key: pki.rsa.leaf.keyPem,
        cipherSuites: [suite],
        enableLegacyRsaKeyExchange: true,
      },
    });
    expectOk(r, "RSA kx");
    check(r, "RSA key transport");
  });

  for (const [name, opts] of [
    ["TLS 1.3", TLS13],
    ["TLS 1.2", TLS12],
  ] as const) {
    it(`${name}: client certificate`, () => {
      const r = run({
        client: { ...opts, cert: pki.client.chainPem, key: pki.client.leaf.keyPem },
        server: { clientAuth: "require", ca: pki.client.root.certPem },
      });
      expectOk(r, name);
      assert.equal(r.s.info?.peerVerified, true);
      check(r, `${name} client certificate`);
    });

    it(`${name}: bad record MAC`, () => {
      const r = run({
        client: opts,
        tamper: (b) => {
          const x = b.slice();
          x[x.length - 1]! ^= 1;
          return x;
        },
      });
      assert.equal(r.s.error?.alertName, "bad_record_mac");
      check(r, `${name} bad record MAC`);
    });

    it(`${name}: untrusted and expired certificates`, () => {
      for (const chain of [pki.untrusted, pki.expired]) {
        const r = run({ client: opts, server: { cert: chain.chainPem, key: chain.leaf.keyPem } });
        assert.ok(r.c.error, "the client refuses the certificate");
        assert.equal(r.c.error.sentBy, "local");
        assertNoSecret(r.texts, [...r.secrets, ...KEYS()], `${name} bad certificate`);
      }
    });
  }

  it("TLS 1.2: bad client Finished (found by the server)", () => {
    const r = run({ client: TLS12, corrupt: { side: "client", text: "client finished" } });
    assert.equal(r.s.error?.alertName, "decrypt_error");
    assert.equal(r.s.error?.sentBy, "local");
    check(r, "TLS 1.2 bad Finished");
  });

  it("TLS 1.2: bad server Finished (found by the client)", () => {
    const r = run({ client: TLS12, corrupt: { side: "server", text: "server finished" } });
    assert.equal(r.c.error?.alertName, "decrypt_error");
    assert.equal(r.c.error?.sentBy, "local");
    check(r, "TLS 1.2 bad server Finished");
  });

  it("TLS 1.3: bad server Finished (found by the client), and a bad binder on resumption", () => {
    const r = run({ client: TLS13, corrupt: { side: "server", text: "tls13 finished" } });
    assert.equal(r.c.error?.alertName, "decrypt_error");
    assert.equal(r.c.error?.sentBy, "local");
    check(r, "TLS 1.3 bad Finished");

    const first = run({ client: TLS13 });
    const session = first.sessions.at(-1);
    assert.ok(session);
    // The server's binder key is wrong: its check of the client's binder fails.
    const bad = run({ client: TLS13, session, corrupt: { side: "server", text: "tls13 res binder" } });
    assert.ok(bad.s.error, "a bad binder is fatal");
    assert.equal(bad.s.error.alertName, "decrypt_error");
    check(bad, "TLS 1.3 bad binder", false);
  });
});

describe("key log lines only for a 'keylog' listener", () => {
  for (const [name, opts] of [
    ["TLS 1.3", TLS13],
    ["TLS 1.2", TLS12],
  ] as const) {
    it(`${name}: a connection without a listener emits none`, () => {
      const c = new ClientConnection(new ClientConfig({ ca: pki.p256.root.certPem, ...opts }), {
        serverName: "localhost",
      });
      const s = new ServerConnection(
        new ServerConfig({ cert: pki.p256.chainPem, key: pki.p256.leaf.keyPem }),
      );
      const emitted: string[] = [];
      for (const conn of [c, s] as Connection[]) {
        const emit = conn.emit.bind(conn);
        conn.emit = ((event, ...args) => {
          emitted.push(String(event));
          return emit(event, ...args);
        }) as typeof conn.emit;
      }
      pump(c, s);
      assert.ok(c.handshakeComplete);
      assert.ok(emitted.includes("handshake"), "the spy sees events");
      assert.equal(emitted.filter((e) => e === "keylog").length, 0);

      // The same handshake with a listener on one side: lines on that side only.
      const c2 = new ClientConnection(new ClientConfig({ ca: pki.p256.root.certPem, ...opts }), {
        serverName: "localhost",
      });
      const s2 = new ServerConnection(
        new ServerConfig({ cert: pki.p256.chainPem, key: pki.p256.leaf.keyPem }),
      );
      const lines: string[] = [];
      c2.on("keylog", (l) => lines.push(l));
      pump(c2, s2);
      assert.ok(lines.length >= (name === "TLS 1.3" ? 5 : 1), lines.join("\n"));
    });
  }
});

describe("the secret search itself", () => {
  it("finds a key log secret in hex (either case), a private key's PEM, and a byte list", () => {
    const line = `CLIENT_RANDOM ${"ab".repeat(32)} ${Buffer.from(Array.from({ length: 48 }, (_, i) => i * 5)).toString("hex")}`;
    const secrets = keylogSecrets([line]);
    assert.throws(() => assertNoSecret([`oops: ${line.toUpperCase()}`], secrets, "t"), /appears in/);
    assert.throws(
      () => assertNoSecret([String(new Uint8Array(secrets[0]!.subarray(5, 30)))], secrets, "t"),
      /appears in/,
    );
    assert.throws(() => assertNoSecret([json({ k: secrets[0]!.subarray(3) })], secrets, "t"), /appears in/);
    const keyPem = pki.p256.leaf.keyPem;
    assert.throws(() => assertNoSecret([keyPem], privateKeySecrets(keyPem), "t"), /appears in/);
    const rsaDer = Buffer.from(pki.rsa.leaf.keyPem.replace(/-----[^-]+-----|\s/g, ""), "base64");
    assert.throws(
      () =>
        assertNoSecret(
          [rsaDer.subarray(100).toString("base64")],
          privateKeySecrets(pki.rsa.leaf.keyPem),
          "t",
        ),
      /appears in/,
    );
    assertNoSecret([pki.p256.chainPem, line.slice(0, 80)], [...secrets, ...privateKeySecrets(keyPem)], "t");
  });
});

describe("Node adapter: key log lines only for a 'keylog' listener on the socket", () => {
  it("no listener: the connection has none either; a listener: lines, until it is removed", async () => {
    const server = createServer({ cert: pki.p256.chainPem, key: pki.p256.leaf.keyPem });
    const serverSockets: TLSSocket[] = [];
    server.on("connection", (sock: TLSSocket) => serverSockets.push(sock));
    server.on("secureConnection", (sock: TLSSocket) => sock.end());
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const once = async (withListener: boolean) => {
        const sock = connect({
          host: "127.0.0.1",
          port: server.address().port,
          servername: "localhost",
          ca: pki.p256.root.certPem,
        });
        const lines: string[] = [];
        const listener = (l: string): void => {
          lines.push(l);
        };
        if (withListener) sock.on("keylog", listener);
        const counts = { conn: sock.connection.listenerCount("keylog") };
        await new Promise<void>((resolve, reject) => {
          sock.once("secureConnect", resolve);
          sock.once("error", reject);
        });
        sock.off("keylog", listener);
        // The next line finds nobody listening on the socket and detaches from the connection.
        sock.connection.emit("keylog", "CLIENT_RANDOM 00 00");
        const after = sock.connection.listenerCount("keylog");
        sock.resume();
        await new Promise<void>((resolve) => sock.once("close", () => resolve()));
        return { lines, counts, after };
      };
      const without = await once(false);
      assert.equal(without.counts.conn, 0, "no listener on the connection");
      assert.deepEqual(without.lines, []);
      for (const s of serverSockets) assert.equal(s.connection.listenerCount("keylog"), 0, "server side");
      const withL = await once(true);
      assert.equal(withL.counts.conn, 1);
      assert.ok(withL.lines.length >= 5, withL.lines.join("\n"));
      assert.equal(withL.after, 0, "removing the socket's listener detaches it from the connection");
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
