import assert from "node:assert/strict";
import { test } from "node:test";
import * as sessionTarget from "../../fuzz/targets/session-state.js";
import { TLSError } from "../../src/errors.js";
import { decodeSessionState, encodeSessionState, type SessionState } from "../../src/session/session.js";
import { fromHex } from "../../src/wire/bytes.js";

/**
 * Inputs the fuzzers (npm run fuzz) found, minimized by libFuzzer, each with what it broke. Each is
 * also run through its fuzz target, whose checks are what failed, and sits in fuzz/corpus.
 */

const base: SessionState = {
  version: 0x0304,
  cipherSuite: 0x1301,
  secret: new Uint8Array(32).fill(1),
  extendedMasterSecret: true,
  serverName: "localhost",
  alpnProtocol: undefined,
  peerCertificates: [],
  createdAt: 1_800_000_000_000,
  lifetime: 7200,
  ageAdd: 5,
  maxEarlyData: 0,
  ticket: Uint8Array.of(1, 2, 3),
  sessionId: new Uint8Array(0),
};

test("fuzz session-state: a creation time beyond 2^53 ms is refused (it did not survive encode)", () => {
  // createdAt = 0xffffffff_ffffffff: decoded to 1.8e19 (not exact), encoded again as 0 in the high
  // word; a session "created" in the far future also looked alive forever.
  const input = fromHex(
    "01030400ff6f746f7479706500000000000000000000007977ff00000000000065000000000000000000000079706500" +
      "000000000000000000007977ff00000000000000006f7400000000000000000000000000000000ffffffffffffffff6f" +
      "746f7479706500000000000000000000000000000000000000ffffffffffffffff6f746f747970650000000000000000" +
      "000000",
  );
  assert.throws(
    () => decodeSessionState(input),
    (e) => e instanceof TLSError && e.alertName === "decode_error",
  );
  sessionTarget.fuzz(Buffer.from(input));
  // The largest time still accepted round-trips exactly.
  const state = { ...base, createdAt: Number.MAX_SAFE_INTEGER };
  assert.equal(decodeSessionState(encodeSessionState(state)).createdAt, Number.MAX_SAFE_INTEGER);
});

test("fuzz session-state: names that are not UTF-8 are refused (they decoded to text that did not encode)", () => {
  // The ALPN protocol here is 0xc8 bytes: each decoded lossily to U+FFFD (3 bytes in UTF-8), so
  // encodeSessionState (saving the session again) threw a RangeError instead of a TLSError.
  const input = fromHex(
    "01030413032096d8ec8ce38329dee2ac4071d0f8e32400000000000000000000000000000000000000c8c8c8c8c8c8c8" +
      "c8c8c8c8c8c8c8c8c8c8c8c8c8c8c8c8c8c8c8c8c8c8c8c8c8c8c8c8c8c8c8c8c8c8c8c8c8c8c8c8c8c8c8c8c8c8c8c8" +
      "c8c8c8c8c8c8c8c8c8c8030202f21daada45240481eaebf30dcbc3b9ffa30066306430120603551d130101ff04083006" +
      "0101ff020100000000000000000000000000000000000000000000000000000000000000000000000000000000000000" +
      "000070450000000000000000000000ff0201000000000000000000000000000000000000000000000000000000000000" +
      "00000000000000000000000000000070450000000000000000000000",
  );
  assert.throws(
    () => decodeSessionState(input),
    (e) => e instanceof TLSError && e.alertName === "decode_error" && /not UTF-8/.test(e.message),
  );
  sessionTarget.fuzz(Buffer.from(input));
  // Valid UTF-8, a byte-order mark included, comes back as it was.
  const state = { ...base, serverName: "\ufeffh\u00e9.example", alpnProtocol: "h2" };
  const back = decodeSessionState(encodeSessionState(state));
  assert.equal(back.serverName, state.serverName);
  assert.equal(back.alpnProtocol, "h2");
});
