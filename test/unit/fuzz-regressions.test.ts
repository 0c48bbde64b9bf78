import assert from "node:assert/strict";
import { test } from "node:test";
import * as sessionTarget from "../../fuzz/targets/session-state.js";
import { TLSError } from "../../src/errors.js";
import { decodeSessionState, encodeSessionState } from "../../src/session/session.js";
import { fromHex } from "../../src/wire/bytes.js";

/**
 * Inputs the fuzzers (npm run fuzz) found, minimized, each with what it broke. Each is also run
 * through its fuzz target, whose checks are what failed.
 */

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
  const state = {
    version: 0x0304 as const,
    cipherSuite: 0x1301,
    secret: new Uint8Array(32).fill(1),
    extendedMasterSecret: true,
    serverName: "localhost",
    alpnProtocol: undefined,
    peerCertificates: [],
    createdAt: Number.MAX_SAFE_INTEGER,
    lifetime: 7200,
    ageAdd: 5,
    maxEarlyData: 0,
    ticket: Uint8Array.of(1, 2, 3),
    sessionId: new Uint8Array(0),
  };
  assert.equal(decodeSessionState(encodeSessionState(state)).createdAt, Number.MAX_SAFE_INTEGER);
});
