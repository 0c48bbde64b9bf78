import type { HashAlgorithm } from "../constants.js";
import type { CryptoProvider } from "../crypto/provider.js";
import { concat } from "../wire/bytes.js";

/**
 * The handshake transcript: every handshake message as sent or received, with its header.
 * The messages are kept (a handshake is small) so that the hash can be taken with whatever hash
 * the negotiated suite names, at any point.
 */
export class Transcript {
  private readonly messages: Uint8Array[] = [];
  add(raw: Uint8Array): void {
    this.messages.push(raw);
  }
  /** Starts over from `first` (TLS 1.3 HelloRetryRequest: message_hash replaces ClientHello1). */
  reset(first: Uint8Array): void {
    this.messages.length = 0;
    this.messages.push(first);
  }
  /** Forgets every message (the handshake is over: nothing more will be hashed). */
  clear(): void {
    this.messages.length = 0;
  }
  bytes(): Uint8Array {
    return concat(...this.messages);
  }
  hash(crypto: CryptoProvider, alg: HashAlgorithm): Uint8Array {
    return crypto.hash(alg, this.bytes());
  }
}
