import assert from "node:assert/strict";
import { test } from "node:test";
import { pair, pump } from "./pair.js";

test("TLS 1.2 in-memory handshake, data both ways, close_notify", () => {
  const { c, s } = pair({ maxVersion: "TLSv1.2" });
  const got: string[] = [];
  c.on("data", (d) => got.push(`c:${new TextDecoder().decode(d)}`));
  s.on("data", (d) => got.push(`s:${new TextDecoder().decode(d)}`));
  const errors: Error[] = [];
  c.on("error", (e) => errors.push(e));
  s.on("error", (e) => errors.push(e));
  pump(c, s);
  assert.deepEqual(errors, []);
  assert.equal(c.info?.protocol, "TLSv1.2");
  assert.equal(s.info?.cipherSuite.name, c.info?.cipherSuite.name);
  assert.equal(c.info?.peerVerified, true);
  c.write(new TextEncoder().encode("hello"));
  s.write(new TextEncoder().encode("world"));
  pump(c, s);
  assert.deepEqual(got.sort(), ["c:world", "s:hello"]);
  s.on("end", () => s.close()); // answer the client's close_notify
  c.close();
  pump(c, s);
  assert.equal(c.connectionState, "closed");
  assert.equal(s.connectionState, "closed");
});
