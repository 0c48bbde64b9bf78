import assert from "node:assert/strict";
import { test } from "node:test";
import { pair, pump } from "./pair.js";

test("TLS 1.3 in-memory handshake (default), data both ways, KeyUpdate, close_notify", () => {
  const { c, s } = pair();
  const got: string[] = [];
  c.on("data", (d) => got.push(`c:${new TextDecoder().decode(d)}`));
  s.on("data", (d) => got.push(`s:${new TextDecoder().decode(d)}`));
  const errors: Error[] = [];
  c.on("error", (e) => errors.push(e));
  s.on("error", (e) => errors.push(e));
  const trace: string[] = [];
  c.on("trace", (t) => trace.push(`${t.direction} ${t.message}`));
  pump(c, s);
  assert.deepEqual(errors, []);
  assert.equal(c.info?.protocol, "TLSv1.3");
  assert.equal(s.info?.protocol, "TLSv1.3");
  assert.equal(c.info?.cipherSuite.name, "TLS_AES_128_GCM_SHA256");
  assert.equal(c.info?.group, 0x11ec);
  c.write(new TextEncoder().encode("hello"));
  s.write(new TextEncoder().encode("world"));
  pump(c, s);
  c.updateKeys(true);
  pump(c, s);
  c.write(new TextEncoder().encode("after-update"));
  s.write(new TextEncoder().encode("after-update"));
  pump(c, s);
  assert.deepEqual(errors, []);
  assert.deepEqual(got.sort(), ["c:after-update", "c:world", "s:after-update", "s:hello"]);
  assert.deepEqual(c.exportKeyingMaterial("EXPORTER-x", 32), s.exportKeyingMaterial("EXPORTER-x", 32));
  // Half-close (RFC 8446 §6.1): after the client's close_notify the server may still answer.
  s.on("end", () => {
    s.write(new TextEncoder().encode("last words"));
    s.close();
  });
  c.close();
  pump(c, s);
  assert.ok(got.includes("c:last words"), "data sent after the peer's close_notify arrives");
  assert.equal(c.connectionState, "closed");
  assert.equal(s.connectionState, "closed");
  assert.deepEqual(trace.slice(0, 7), [
    "send ClientHello",
    "recv ServerHello",
    "recv EncryptedExtensions",
    "recv Certificate",
    "recv CertificateVerify",
    "recv Finished",
    "send ChangeCipherSpec",
  ]);
});

test("write() and close() before the handshake completes: the data and close_notify follow the handshake", () => {
  for (const maxVersion of ["TLSv1.2", "TLSv1.3"] as const) {
    const { c, s } = pair({ maxVersion });
    let got = "";
    s.on("data", (d) => {
      got += new TextDecoder().decode(d);
    });
    const errors: Error[] = [];
    c.on("error", (e) => errors.push(e));
    s.on("error", (e) => errors.push(e));
    s.on("end", () => s.close());
    c.write(new TextEncoder().encode("early words"));
    c.close();
    pump(c, s);
    assert.deepEqual(errors, [], maxVersion);
    assert.equal(got, "early words", maxVersion);
    assert.equal(s.peerClosed, true, maxVersion);
    assert.equal(c.connectionState, "closed", maxVersion);
  }
});
