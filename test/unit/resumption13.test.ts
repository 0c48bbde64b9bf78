import assert from "node:assert/strict";
import { before, describe, test } from "node:test";
import { ClientConfig, type ClientOptions, ServerConfig, type ServerOptions } from "../../src/config.js";
import { ClientConnection, ServerConnection } from "../../src/connection.js";
import { nodeCrypto } from "../../src/crypto/node.js";
import type { TLSSession } from "../../src/session/client-session.js";
import { TicketKeyRing } from "../../src/session/ticket-keys.js";
import { type StandardPki, standardPki } from "../fixtures/pki.js";
import { demo, pump } from "./pair.js";

function connectOnce(
  clientConfig: ClientConfig,
  serverConfig: ServerConfig,
  session?: TLSSession,
  serverName = "localhost",
) {
  const c = new ClientConnection(clientConfig, session ? { serverName, session } : { serverName });
  const s = new ServerConnection(serverConfig);
  const sessions: TLSSession[] = [];
  c.on("session", (t) => sessions.push(t));
  const errors: Error[] = [];
  c.on("error", (e) => errors.push(e));
  s.on("error", (e) => errors.push(e));
  pump(c, s);
  c.write(new TextEncoder().encode("ping"));
  pump(c, s);
  return { c, s, sessions, errors };
}

describe("TLS 1.3 PSK resumption (RFC 8446 §4.6.1, §4.2.11)", () => {
  const client = (o: ClientOptions = {}) => new ClientConfig({ ca: demo.ca, ...o });
  const server = (o: Partial<ServerOptions> = {}) =>
    new ServerConfig({ cert: demo.cert, key: demo.key, ...o });

  test("a ticket from the first connection resumes the second: psk_dhe_ke, no certificate messages", () => {
    const cc = client();
    const sc = server();
    const first = connectOnce(cc, sc);
    assert.deepEqual(first.errors, []);
    assert.equal(first.c.info?.resumed, false);
    assert.equal(first.sessions.length, 1);
    const ticket = first.sessions[0]!;
    assert.equal(ticket.protocol, "TLSv1.3");
    // The session survives serialisation.
    const second = connectOnce(cc, sc, ticket.toString() as unknown as TLSSession);
    assert.deepEqual(second.errors, []);
    assert.equal(second.c.info?.resumed, true);
    assert.equal(second.s.info?.resumed, true);
    assert.equal(second.c.info?.resumedWith, "psk_dhe_ke");
    assert.match(second.c.info?.peerCertificates[0]?.subject.toString() ?? "", /TypeTLS demo server/);
    assert.equal(second.sessions.length, 1, "a resumed connection gets a fresh ticket");
  });

  test("a different SNI, rotated-out ticket keys, or a tampered ticket give a full handshake", () => {
    const cc = client();
    const keys = new TicketKeyRing(nodeCrypto);
    const sc = server({ ticketKeys: keys });
    const t = connectOnce(cc, sc).sessions[0]!;
    assert.equal(connectOnce(cc, sc, t, "127.0.0.1").c.info?.resumed, false, "other name: not offered");
    const tampered = structuredClone(t.state);
    tampered.ticket[20]! ^= 1;
    const r = connectOnce(cc, sc, new (t.constructor as new (s: typeof tampered) => TLSSession)(tampered));
    assert.deepEqual(r.errors, []);
    assert.equal(r.c.info?.resumed, false);
    keys.rotate();
    assert.equal(connectOnce(cc, sc, t).c.info?.resumed, true, "previous key still opens");
    keys.rotate();
    keys.rotate();
    const gone = connectOnce(cc, sc, t);
    assert.deepEqual(gone.errors, []);
    assert.equal(gone.c.info?.resumed, false, "rotated out: full handshake");
  });

  test("single-use tickets resume once", () => {
    const cc = client();
    const sc = server({ singleUseTickets: true });
    const t = connectOnce(cc, sc).sessions[0]!;
    assert.equal(connectOnce(cc, sc, t).c.info?.resumed, true);
    const again = connectOnce(cc, sc, t);
    assert.deepEqual(again.errors, []);
    assert.equal(again.c.info?.resumed, false);
  });

  test("resumption after a HelloRetryRequest (the binder covers the new transcript)", () => {
    const cc = client({ groups: ["X25519", "P-384"] });
    const sc = server({ groups: ["P-384"] });
    const t = connectOnce(cc, sc).sessions[0]!;
    const r = connectOnce(cc, sc, t);
    assert.deepEqual(r.errors, []);
    assert.equal(r.c.info?.helloRetry, true);
    assert.equal(r.c.info?.resumed, true);
  });

  test("an asynchronous session store: the handshake waits for it", async () => {
    const used = new Set<string>();
    const store = {
      get: async () => undefined,
      set: async () => {},
      delete: async () => {},
      markUsed: async (id: Uint8Array) => {
        await new Promise((r) => setTimeout(r, 5));
        const k = Buffer.from(id).toString("hex");
        if (used.has(k)) return false;
        used.add(k);
        return true;
      },
    };
    const cc = client();
    const sc = server({ singleUseTickets: true, sessionStore: store });
    const t = connectOnce(cc, sc).sessions[0]!;
    const c = new ClientConnection(cc, { serverName: "localhost", session: t });
    const s = new ServerConnection(sc);
    s.receive(c.takeOutgoing());
    assert.equal(s.takeOutgoing().length, 0, "nothing is sent while the store is consulted");
    await new Promise((r) => setTimeout(r, 30));
    pump(c, s);
    assert.equal(c.info?.resumed, true);
  });
});

describe("resumption and client authentication", () => {
  test("a server that requires client certificates resumes only sessions that had one", () => {
    for (const maxVersion of ["TLSv1.2", "TLSv1.3"] as const) {
      const withCert = new ClientConfig({
        ca: demo.ca,
        maxVersion,
        cert: demo.clientCert,
        key: demo.clientKey,
      });
      const optional = new ServerConfig({
        cert: demo.cert,
        key: demo.key,
        clientAuth: "request",
        ca: demo.ca,
      });
      const required = new ServerConfig({
        cert: demo.cert,
        key: demo.key,
        clientAuth: "require",
        ca: demo.ca,
        ticketKeys: optional.ticketKeys,
        sessionStore: optional.sessionStore,
      });
      const anonymous = connectOnce(new ClientConfig({ ca: demo.ca, maxVersion }), optional).sessions[0]!;
      const r = connectOnce(withCert, required, anonymous);
      assert.deepEqual(r.errors, [], maxVersion);
      assert.equal(r.s.info?.resumed, false, `${maxVersion}: no resumption without a client certificate`);
      assert.equal(r.s.info?.peerVerified, true);
      const certified = r.sessions[0]!;
      const again = connectOnce(withCert, required, certified);
      assert.equal(again.s.info?.resumed, true, maxVersion);
      assert.match(again.s.info?.peerCertificates[0]?.subject.toString() ?? "", /demo client/);
    }
  });
});

describe("resumption safety", () => {
  let pki: StandardPki;
  before(async () => {
    pki = await standardPki();
  });
  test("a session from an unverified connection is not offered to a verifying client", () => {
    for (const maxVersion of ["TLSv1.2", "TLSv1.3"] as const) {
      const sc = new ServerConfig({ cert: demo.cert, key: demo.key });
      const insecure = new ClientConfig({ rejectUnauthorized: false, maxVersion });
      const t = connectOnce(insecure, sc).sessions[0]!;
      // A client whose CA does not trust the server: the session must not let it in.
      const otherCa = new ClientConfig({ ca: pki.rsa.root.certPem, maxVersion });
      const c = new ClientConnection(otherCa, { serverName: "localhost", session: t });
      const s = new ServerConnection(sc);
      pump(c, s);
      assert.equal(c.info, null, `${maxVersion}: no handshake`);
      assert.equal(c.error?.code, "UNABLE_TO_GET_ISSUER_CERT_LOCALLY", maxVersion);
      // With verification off, the session resumes but is not reported as verified.
      const again = connectOnce(insecure, sc, t);
      assert.equal(again.c.info?.resumed, true, maxVersion);
      assert.equal(again.c.info?.peerVerified, false, maxVersion);
      // A verifying client with the right CA resumes a verified session as verified.
      const good = new ClientConfig({ ca: demo.ca, maxVersion });
      const t2 = connectOnce(good, sc).sessions[0]!;
      const r = connectOnce(good, sc, t2);
      assert.equal(r.c.info?.resumed, true, maxVersion);
      assert.equal(r.c.info?.peerVerified, true, maxVersion);
    }
  });

  test("tickets are sent before the application's first words (and before its close_notify)", () => {
    const sc = new ServerConfig({ cert: demo.cert, key: demo.key });
    const c = new ClientConnection(new ClientConfig({ ca: demo.ca }), { serverName: "localhost" });
    const s = new ServerConnection(sc);
    s.on("handshake", () => s.close()); // an application that ends at once
    const sessions: TLSSession[] = [];
    c.on("session", (t) => sessions.push(t));
    c.on("end", () => c.close());
    pump(c, s);
    assert.equal(sessions.length, 1);
    assert.equal(c.connectionState, "closed");
  });
});
