import { AlertDescription } from "../alert.js";
import type { HashAlgorithm } from "../constants.js";
import { TLSError } from "../errors.js";
import { constantTimeEqual } from "../wire/bytes.js";
import type { HandshakeContext } from "./context.js";
import type { HandshakeMessage } from "./messages/framing.js";
import { decodeFinished, encodeFinished } from "./messages/simple.js";
import { verifyData12 } from "./prf12.js";

/**
 * TLS 1.2 Finished (RFC 5246 §7.4.9), both directions, full and abbreviated handshakes:
 * verify_data = PRF(master_secret, "<sender> finished", Hash(handshake_messages))[0..11].
 */

/** Sends our Finished over the transcript so far (after our ChangeCipherSpec). */
export function sendFinished12(
  ctx: HandshakeContext,
  hash: HashAlgorithm,
  master: Uint8Array,
  sender: "client" | "server",
): void {
  const verifyData = verifyData12(
    ctx.crypto,
    hash,
    master,
    `${sender} finished`,
    ctx.transcript.hash(ctx.crypto, hash),
  );
  ctx.send(encodeFinished(verifyData), "Finished", { verify_data: `${verifyData.length} bytes` });
}

/** Checks the peer's Finished in constant time (decrypt_error if wrong), then adds it to the transcript. */
export function checkFinished12(
  ctx: HandshakeContext,
  msg: HandshakeMessage,
  hash: HashAlgorithm,
  master: Uint8Array,
  sender: "client" | "server",
): void {
  const got = decodeFinished(msg.body, 12);
  const want = verifyData12(
    ctx.crypto,
    hash,
    master,
    `${sender} finished`,
    ctx.transcript.hash(ctx.crypto, hash),
  );
  if (!constantTimeEqual(got, want))
    throw TLSError.local(AlertDescription.decrypt_error, `${sender} Finished does not verify`);
  ctx.received("Finished", { verify_data: "verified" });
  ctx.transcript.add(msg.raw);
}
