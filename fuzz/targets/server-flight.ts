import { feed } from "../../test/unit/pair.js";
import { checkConnection, watch } from "../support/invariants.js";
import { setupFor } from "../support/scenarios.js";

/**
 * The server state machine fed a client's bytes. Input: a scenario byte (see SCENARIOS), then
 * everything a client sends (seeds: a real client's whole side of a connection, recorded with the
 * deterministic crypto, so the unmutated seed completes a handshake and the fuzzer starts deep).
 * Optional split: a 0xff-prefixed input is delivered one byte at a time.
 */
export function fuzz(data: Buffer): void {
  if (data.length === 0) return;
  const setup = setupFor(data[0]!);
  const input = new Uint8Array(data.subarray(1));
  const s = setup.server();
  const w = watch(s);
  if (data[0] === 0xff) for (let i = 0; i < input.length; i++) s.receive(input.subarray(i, i + 1));
  else feed(s, input);
  checkConnection(s, w, input, s.takeOutgoing());
}
