import { AlertDescription } from "../alert.js";
import { TLSError } from "../errors.js";
import type { HandshakeMessage } from "./messages/framing.js";

/**
 * Reassembles handshake messages from handshake records: a message may span records, and a record
 * may hold several messages (RFC 5246 §6.2.1, RFC 8446 §5.1). A message longer than the limit is
 * refused from its header, before its body is buffered.
 */
export class HandshakeReassembler {
  private buf: Uint8Array = new Uint8Array(0);

  constructor(private readonly maxMessageSize: number) {}

  push(fragment: Uint8Array): void {
    if (this.buf.length === 0) {
      this.buf = fragment;
      return;
    }
    const next = new Uint8Array(this.buf.length + fragment.length);
    next.set(this.buf, 0);
    next.set(fragment, this.buf.length);
    this.buf = next;
  }

  /** True when part of a message is buffered: then no other content type may arrive. */
  get hasPartial(): boolean {
    return this.buf.length > 0;
  }

  next(): HandshakeMessage | undefined {
    const b = this.buf;
    if (b.length < 4) return undefined;
    const len = (b[1]! << 16) | (b[2]! << 8) | b[3]!;
    if (len > this.maxMessageSize) {
      throw TLSError.local(
        AlertDescription.illegal_parameter,
        `handshake message of ${len} bytes exceeds the limit of ${this.maxMessageSize}`,
      );
    }
    if (b.length < 4 + len) return undefined;
    const raw = b.slice(0, 4 + len);
    this.buf = b.length === 4 + len ? new Uint8Array(0) : b.subarray(4 + len);
    return { type: raw[0]!, body: raw.subarray(4), raw };
  }
}
