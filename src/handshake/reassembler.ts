import { AlertDescription } from "../alert.js";
import { HandshakeType } from "../constants.js";
import { TLSError } from "../errors.js";
import type { HandshakeMessage } from "./messages/framing.js";

/** How large a peer's handshake messages may be. */
export interface HandshakeLimits {
  /** Any message but Certificate. */
  readonly maxHandshakeMessageSize: number;
  /** A Certificate message (the whole chain with its framing). */
  readonly maxCertificateChainSize: number;
}

/**
 * Reassembles handshake messages from handshake records: a message may span records, and a record
 * may hold several messages (RFC 5246 §6.2.1, RFC 8446 §5.1). A message longer than its limit is
 * refused from its header, before its body is buffered. Fragments are kept as they come and joined
 * once, so a message sent one byte per record costs linear, not quadratic, work.
 */
export class HandshakeReassembler {
  /** Fragments; those before `head` are consumed, and parts[head] is consumed up to `off`. */
  private parts: Uint8Array[] = [];
  private head = 0;
  private off = 0;
  private total = 0;

  constructor(private readonly limits: HandshakeLimits) {}

  push(fragment: Uint8Array): void {
    if (fragment.length === 0) return;
    this.parts.push(fragment);
    this.total += fragment.length;
  }

  /** True when part of a message is buffered: then no other content type may arrive. */
  get hasPartial(): boolean {
    return this.total > 0;
  }

  /** Byte `i` of what is buffered (i < total). */
  private at(i: number): number {
    let k = this.off + i;
    for (let j = this.head; j < this.parts.length; j++) {
      const p = this.parts[j]!;
      if (k < p.length) return p[k]!;
      k -= p.length;
    }
    return 0;
  }

  next(): HandshakeMessage | undefined {
    if (this.total < 4) return undefined;
    const type = this.at(0);
    const len = (this.at(1) << 16) | (this.at(2) << 8) | this.at(3);
    const limit =
      type === HandshakeType.certificate
        ? this.limits.maxCertificateChainSize
        : this.limits.maxHandshakeMessageSize;
    if (len > limit) {
      // RFC 8446 and 5246 name no alert for this; OpenSSL and Go send illegal_parameter too.
      throw TLSError.local(
        AlertDescription.illegal_parameter,
        `handshake message of ${len} bytes exceeds the limit of ${limit}`,
      );
    }
    if (this.total < 4 + len) return undefined;
    return this.take(4 + len);
  }

  /** Removes the first `n` buffered bytes as one message. */
  private take(n: number): HandshakeMessage {
    const raw = new Uint8Array(n);
    let filled = 0;
    while (filled < n) {
      const p = this.parts[this.head]!;
      const chunk = p.subarray(this.off, Math.min(p.length, this.off + n - filled));
      raw.set(chunk, filled);
      filled += chunk.length;
      this.off += chunk.length;
      if (this.off === p.length) {
        this.head++;
        this.off = 0;
      }
    }
    this.total -= n;
    if (this.head === this.parts.length) {
      this.parts = [];
      this.head = 0;
    }
    return { type: raw[0]!, body: raw.subarray(4), raw };
  }
}
