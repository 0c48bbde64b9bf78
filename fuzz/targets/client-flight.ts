import { feed } from "../../test/unit/pair.js";
import { checkConnection, watch } from "../support/invariants.js";
import { setupFor } from "../support/scenarios.js";

/**
 * The client state machine fed a server's bytes after its ClientHello. Input: a scenario byte
 * (see SCENARIOS), then everything a server sends. Seeds are a real server's whole side of a
 * connection recorded with the deterministic crypto: the client's ClientHello here is the same
 * one, so the unmutated seed completes the handshake (TLS 1.3 records included, since the
 * fuzzing AEAD is transparent) and mutations reach every later message.
 */
export function fuzz(data: Buffer): void {
  if (data.length === 0) return;
  const setup = setupFor(data[0]!);
  const input = new Uint8Array(data.subarray(1));
  const c = setup.client();
  const w = watch(c);
  c.takeOutgoing();
  feed(c, input);
  checkConnection(c, w, input, c.takeOutgoing());
}
