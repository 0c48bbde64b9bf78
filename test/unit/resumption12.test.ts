import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ClientConfig, type ClientOptions, ServerConfig, type ServerOptions } from "../../src/config.js";
import { ClientConnection, ServerConnection } from "../../src/connection.js";
import { HandshakeType } from "../../src/constants.js";
import { TLSSession as Session, type TLSSession } from "../../src/session/client-session.js";
import { MemorySessionStore } from "../../src/session/store.js";
import { demo, pump } from "./pair.js";

function run(cc: ClientConfig, sc: ServerConfig, session?: TLSSession, serverName = "localhost") {
  const c = new ClientConnection(cc, session ? { serverName, session } : { serverName });
  const s = new ServerConnection(sc);
  const sessions: TLSSession[] = [];
  c.on("session", (t) => sessions.push(t));
  const trace: string[] = [];
  s.on("trace", (t) => trace.push(`${t.direction} ${t.message}`));
  const errors: Error[] = [];
  c.on("error", (e) => errors.push(e));
  s.on("error", (e) => errors.push(e));
  pump(c, s);
  let got = "";
  s.on("data", (d) => {
    got += new TextDecoder().decode(d);
  });
  c.write(new TextEncoder().encode("ping"));
  pump(c, s);
  assert.equal(got, "ping");
  return { c, s, sessions, errors, trace };
}

describe("TLS 1.2 resumption: session ids and RFC 5077 tickets", () => {
  const client = (o: ClientOptions = {}) => new ClientConfig({ ca: demo.ca, maxVersion: "TLSv1.2", ...o });
  const server = (o: Partial<ServerOptions> = {}) =>
    new ServerConfig({ cert: demo.cert, key: demo.key, ...o });

  test("ticket: abbreviated handshake, server Finished first, a fresh ticket", () => {
    const cc = client();
    const sc = server();
    const first = run(cc, sc);
    assert.deepEqual(first.errors, []);
    assert.equal(first.sessions.length, 1);
    assert.ok(first.sessions[0]!.state.ticket.length > 0, "a ticket was issued");
    const second = run(cc, sc, Session.from(first.sessions[0]!.toString()));
    assert.deepEqual(second.errors, []);
    assert.equal(second.c.info?.resumed, true);
    assert.equal(second.c.info?.resumedWith, "ticket");
    assert.equal(second.s.info?.resumedWith, "ticket");
    assert.deepEqual(
      second.trace.filter((t) => t.startsWith("send")),
      ["send ServerHello", "send NewSessionTicket", "send ChangeCipherSpec", "send Finished"],
    );
    assert.match(second.c.info?.peerCertificates[0]?.subject.toString() ?? "", /demo server/);
    assert.equal(second.sessions.length, 1, "the renewed session is handed out");
  });

  test("session id (tickets off): resumed from the server's store", () => {
    const store = new MemorySessionStore();
    const cc = client({ sessionTickets: false });
    const sc = server({ sessionStore: store });
    const first = run(cc, sc);
    assert.equal(store.size, 1);
    const t = first.sessions[0]!;
    assert.equal(t.state.ticket.length, 0);
    assert.equal(t.state.sessionId.length, 32);
    const second = run(cc, sc, t);
    assert.deepEqual(second.errors, []);
    assert.equal(second.c.info?.resumedWith, "session_id");
    store.delete(t.state.sessionId);
    const third = run(cc, sc, t);
    assert.deepEqual(third.errors, []);
    assert.equal(third.c.info?.resumed, false, "revoked: a full handshake");
  });

  test("mismatches fall back to a full handshake: other SNI, suite gone, expired", () => {
    const cc = client();
    const sc = server();
    const t = run(cc, sc).sessions[0]!;
    assert.equal(run(cc, sc, t, "127.0.0.1").c.info?.resumed, false);
    const onlyOther = server({ cipherSuites: ["TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"] });
    const r = run(cc, onlyOther, t);
    assert.deepEqual(r.errors, []);
    assert.equal(r.c.info?.resumed, false);
    const expired = new Session({ ...t.state, createdAt: Date.now() - 3 * 3600_000 });
    assert.equal(run(cc, sc, expired).c.info?.resumed, false);
  });

  test("a failing session store: full handshakes go on, the error is reported", async () => {
    const reported: unknown[] = [];
    const broken = {
      get: async () => {
        throw new Error("store down");
      },
      set: async () => {
        throw new Error("store down");
      },
      delete: () => {},
      markUsed: () => true,
    };
    const cc = client({ sessionTickets: false });
    const sc = server({ sessionStore: broken, onSessionStoreError: (e) => reported.push(e) });
    const t = run(cc, sc).sessions[0]!;
    const c = new ClientConnection(cc, { serverName: "localhost", session: t });
    const s = new ServerConnection(sc);
    s.receive(c.takeOutgoing());
    await new Promise((r) => setTimeout(r, 10));
    pump(c, s);
    assert.equal(c.error, null);
    assert.equal(c.info?.resumed, false);
    assert.ok(reported.length >= 2, "both the failed set and the failed get are reported");
  });

  test("a TLS 1.3 session is not offered to a TLS 1.2-only server, and resumption keeps the version", () => {
    const cc13 = new ClientConfig({ ca: demo.ca });
    const sc12 = server({ maxVersion: "TLSv1.2" });
    const t13 = run(cc13, server()).sessions[0]!;
    assert.equal(t13.protocol, "TLSv1.3");
    const r = run(cc13, sc12, t13);
    assert.deepEqual(r.errors, []);
    assert.equal(r.c.info?.protocol, "TLSv1.2");
    assert.equal(r.c.info?.resumed, false);
    assert.equal(HandshakeType.new_session_ticket, 4);
  });
});

describe("TLS 1.2 single-use tickets", () => {
  test("a ticket resumes once; its renewal resumes once more", () => {
    const cc = new ClientConfig({ ca: demo.ca, maxVersion: "TLSv1.2" });
    const sc = new ServerConfig({
      cert: demo.cert,
      key: demo.key,
      singleUseTickets: true,
      sessionIds: false,
    });
    const t = run(cc, sc).sessions[0]!;
    const r1 = run(cc, sc, t);
    assert.equal(r1.c.info?.resumedWith, "ticket");
    const r2 = run(cc, sc, t);
    assert.deepEqual(r2.errors, []);
    assert.equal(r2.c.info?.resumed, false, "the same ticket again: full handshake");
    assert.equal(run(cc, sc, r1.sessions[0]!).c.info?.resumed, true, "the renewed ticket is new");
  });
});
