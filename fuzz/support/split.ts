import { ContentType } from "../../src/constants.js";
import type { HandshakeMessage } from "../../src/handshake/messages/framing.js";
import { concat } from "../../src/wire/bytes.js";

/**
 * Handshake messages of one direction of a connection recorded with the transparent crypto
 * (./transparent-crypto.ts): plaintext records as they are; "protected" ones by dropping the
 * zero tag (and TLS 1.2's 8-byte explicit nonce, TLS 1.3's inner type and padding).
 */
export function handshakeMessagesOf(stream: Uint8Array, tls13: boolean): HandshakeMessage[] {
  const parts: Uint8Array[] = [];
  let afterCcs = false;
  for (let o = 0; o + 5 <= stream.length; ) {
    const type = stream[o]!;
    const len = (stream[o + 3]! << 8) | stream[o + 4]!;
    const frag = stream.subarray(o + 5, o + 5 + len);
    o += 5 + len;
    if (type === ContentType.change_cipher_spec) afterCcs = !tls13;
    else if (type === ContentType.handshake) parts.push(afterCcs ? frag.subarray(8, frag.length - 16) : frag);
    else if (type === ContentType.application_data && tls13) {
      let end = frag.length - 16;
      while (end > 0 && frag[end - 1] === 0) end--;
      if (end > 0 && frag[end - 1] === ContentType.handshake) parts.push(frag.subarray(0, end - 1));
    }
  }
  const data = concat(...parts);
  const out: HandshakeMessage[] = [];
  for (let o = 0; o + 4 <= data.length; ) {
    const len = (data[o + 1]! << 16) | (data[o + 2]! << 8) | data[o + 3]!;
    const raw = data.slice(o, o + 4 + len);
    out.push({ type: raw[0]!, body: raw.subarray(4), raw });
    o += 4 + len;
  }
  return out;
}
