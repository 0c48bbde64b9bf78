import { alertName, decodeAlert, encodeAlert } from "../../src/alert.js";
import { equalBytes } from "../../src/wire/bytes.js";
import { check, decodes } from "../support/invariants.js";

/** Alert codec: only TLSError; what decodes encodes back to the same bytes; every code has a name. */
export function fuzz(data: Buffer): void {
  const body = new Uint8Array(data);
  const a = decodes(() => decodeAlert(body));
  if (a === undefined) {
    check(body.length !== 2, "a two-byte alert was refused");
    return;
  }
  check(equalBytes(encodeAlert(a), body), "alert does not round-trip");
  check(alertName(a.description).length > 0, "alert without a name");
  check(a.level === body[0] && a.description === body[1], "alert fields");
}
