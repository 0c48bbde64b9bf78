import { AlertDescription } from "../alert.js";
import { ContentType } from "../constants.js";
import { TLSError } from "../errors.js";
import { MAX_CIPHERTEXT_12, RECORD_HEADER_LENGTH, type TLSRecord } from "./record.js";

/**
 * Cuts the incoming byte stream into records, whatever its chunking. It holds at most one
 * incomplete record plus what the caller pushed, and checks each header before waiting for a body,
 * so a peer cannot make it buffer more than one maximum-size record.
 */
export class RecordDeframer {
  private buf: Uint8Array = new Uint8Array(0);
  private off = 0;
  /** The largest fragment accepted; the record layer lowers or raises it as protection changes. */
  maxFragment = MAX_CIPHERTEXT_12;
  /** Once a version is negotiated, every record must carry it (RFC 5246 Appendix E.1). */
  expectedVersion: number | undefined;
  private first = true;

  push(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    const left = this.buf.length - this.off;
    if (left === 0) {
      this.buf = chunk;
    } else {
      const next = new Uint8Array(left + chunk.length);
      next.set(this.buf.subarray(this.off), 0);
      next.set(chunk, left);
      this.buf = next;
    }
    this.off = 0;
  }

  get buffered(): number {
    return this.buf.length - this.off;
  }

  /** The next complete record, or undefined when more bytes are needed. Throws TLSError on a bad header. */
  next(): TLSRecord | undefined {
    const avail = this.buf.length - this.off;
    if (avail === 0) return undefined;
    const b = this.buf;
    const o = this.off;
    if (this.first && (b[o]! & 0x80) !== 0) {
      // An SSL 2.0 CLIENT-HELLO (RFC 6101 Appendix E.2): SSL 2/3 are refused (RFC 6176, RFC 7568).
      throw TLSError.local(AlertDescription.protocol_version, "SSL 2.0 record format is not supported");
    }
    const type = b[o]!;
    if (type < ContentType.change_cipher_spec || type > ContentType.application_data) {
      throw TLSError.local(AlertDescription.unexpected_message, `unknown record content type ${type}`);
    }
    if (avail < 3) return undefined;
    const version = (b[o + 1]! << 8) | b[o + 2]!;
    if (b[o + 1] !== 3)
      throw TLSError.local(AlertDescription.protocol_version, `record version 0x${version.toString(16)}`);
    if (this.expectedVersion !== undefined && version !== this.expectedVersion) {
      throw TLSError.local(
        AlertDescription.protocol_version,
        `record version 0x${version.toString(16)} after 0x${this.expectedVersion.toString(16)} was negotiated`,
      );
    }
    if (avail < RECORD_HEADER_LENGTH) return undefined;
    const length = (b[o + 3]! << 8) | b[o + 4]!;
    if (length > this.maxFragment) {
      throw TLSError.local(
        AlertDescription.record_overflow,
        `record of ${length} bytes exceeds ${this.maxFragment}`,
      );
    }
    if (avail < RECORD_HEADER_LENGTH + length) return undefined;
    const fragment = b.subarray(o + RECORD_HEADER_LENGTH, o + RECORD_HEADER_LENGTH + length);
    this.off = o + RECORD_HEADER_LENGTH + length;
    if (this.off === this.buf.length) {
      this.buf = new Uint8Array(0);
      this.off = 0;
    }
    this.first = false;
    return { type, version, fragment };
  }
}
