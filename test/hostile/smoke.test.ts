import assert from "node:assert/strict";
import { test } from "node:test";
import { hostileClient12, hostileClient13, hostileServer12, hostileServer13 } from "./setup.js";

test("scripted client completes TLS 1.3 with our server", () => {
  const { wire, v, c } = hostileClient13();
  v.send(wire.plain(22, c.hello()));
  c.readServerHello();
  c.readServerFlight();
  v.send(wire.rec(22, c.finished()));
  c.useAppKeys();
  v.send(wire.rec(23, new TextEncoder().encode("hi")));
  v.expectAlive();
  assert.equal(v.handshakes, 1);
  assert.equal(new TextDecoder().decode(v.data[0]), "hi");
});

test("scripted server completes TLS 1.3 with our client", () => {
  const { wire, v, s } = hostileServer13();
  s.readHello();
  const sh = s.serverHello();
  s.handshakeKeys();
  const ee = s.encryptedExtensions();
  const ct = s.certificate();
  const cv = s.certificateVerify();
  const fin = s.finished();
  v.send(wire.plain(22, sh));
  v.send(wire.rec(22, ee), wire.rec(22, ct), wire.rec(22, cv), wire.rec(22, fin));
  s.appKeys();
  wire.next(20);
  s.useAppKeys();
  v.send(wire.rec(23, new TextEncoder().encode("hi")));
  v.expectAlive();
  assert.equal(v.handshakes, 1);
});

test("scripted client completes TLS 1.2 with our server", () => {
  const { wire, v, c } = hostileClient12();
  v.send(wire.plain(22, c.hello()));
  c.readServerFlight();
  v.send(wire.plain(22, c.clientKeyExchange()), c.changeCipherSpec(), wire.rec(22, c.finished()));
  c.readServerFinish();
  v.send(wire.rec(23, new TextEncoder().encode("hi")));
  v.expectAlive();
  assert.equal(v.handshakes, 1);
  assert.ok(c.got.Finished);
});

test("scripted server completes TLS 1.2 with our client", () => {
  const { wire, v, s } = hostileServer12();
  s.readHello();
  v.send(
    wire.plain(22, s.serverHello()),
    wire.plain(22, s.certificate()),
    wire.plain(22, s.serverKeyExchange()),
    wire.plain(22, s.serverHelloDone()),
  );
  s.readClientKeyExchange();
  s.readClientFinished();
  v.send(s.changeCipherSpec(), wire.rec(22, s.finished()));
  v.send(wire.rec(23, new TextEncoder().encode("hi")));
  v.expectAlive();
  assert.equal(v.handshakes, 1);
});
