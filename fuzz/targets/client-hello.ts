import { isDeepStrictEqual } from "node:util";
import {
  decodeClientHello,
  describeClientHello,
  encodeClientHello,
} from "../../src/handshake/messages/client-hello.js";
import { check, decodes } from "../support/invariants.js";
import { decodeKnownExtension } from "./extensions.js";

/**
 * ClientHello body (what follows the 4-byte handshake header): only TLSError; a decoded hello
 * encodes to a body that decodes to the same hello; the trace description never throws; and each
 * extension's body goes through its own decoder (only TLSError again).
 */
export function fuzz(data: Buffer): void {
  const body = new Uint8Array(data);
  const hello = decodes(() => decodeClientHello(body));
  if (hello === undefined) return;
  const again = decodeClientHello(encodeClientHello(hello).body);
  check(isDeepStrictEqual(again, hello), "ClientHello does not round-trip");
  describeClientHello(hello);
  for (const e of hello.extensions) decodeKnownExtension(e.type, e.data, "client");
}
