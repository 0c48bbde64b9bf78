import { AlertDescription } from "../alert.js";
import { TLSError } from "../errors.js";

/**
 * Bounds-checked reader over a byte buffer: the only code that touches raw offsets when decoding.
 * Every overrun is a decode_error alert (RFC 8446 §6.2, RFC 5246 §7.2.2).
 */
export class Reader {
  private pos = 0;
  constructor(private readonly buf: Uint8Array) {}

  get remaining(): number {
    return this.buf.length - this.pos;
  }
  get offset(): number {
    return this.pos;
  }
  atEnd(): boolean {
    return this.pos === this.buf.length;
  }

  private need(n: number): void {
    if (n > this.remaining) throw decodeError(`truncated: need ${n} bytes, have ${this.remaining}`);
  }
  u8(): number {
    this.need(1);
    return this.buf[this.pos++]!;
  }
  u16(): number {
    this.need(2);
    const v = (this.buf[this.pos]! << 8) | this.buf[this.pos + 1]!;
    this.pos += 2;
    return v;
  }
  u24(): number {
    this.need(3);
    const v = (this.buf[this.pos]! << 16) | (this.buf[this.pos + 1]! << 8) | this.buf[this.pos + 2]!;
    this.pos += 3;
    return v;
  }
  u32(): number {
    this.need(4);
    const v =
      this.buf[this.pos]! * 0x1000000 +
      ((this.buf[this.pos + 1]! << 16) | (this.buf[this.pos + 2]! << 8) | this.buf[this.pos + 3]!);
    this.pos += 4;
    return v;
  }
  bytes(n: number): Uint8Array {
    this.need(n);
    const v = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }
  rest(): Uint8Array {
    return this.bytes(this.remaining);
  }
  /** opaque<min..2^8-1> */
  vec8(min = 0): Uint8Array {
    return this.checkMin(this.bytes(this.u8()), min);
  }
  /** opaque<min..2^16-1> */
  vec16(min = 0): Uint8Array {
    return this.checkMin(this.bytes(this.u16()), min);
  }
  /** opaque<min..2^24-1> */
  vec24(min = 0): Uint8Array {
    return this.checkMin(this.bytes(this.u24()), min);
  }
  /** A sub-reader over a length-prefixed vector; `lenBytes` is 1, 2 or 3. */
  sub(lenBytes: 1 | 2 | 3, min = 0): Reader {
    const body = lenBytes === 1 ? this.vec8(min) : lenBytes === 2 ? this.vec16(min) : this.vec24(min);
    return new Reader(body);
  }
  /** A list of u16 values in a vector with a `lenBytes` length prefix. */
  u16List(lenBytes: 1 | 2, min = 0): number[] {
    const r = this.sub(lenBytes, min);
    if (r.remaining % 2 !== 0) throw decodeError("odd length in a list of 16-bit values");
    const out: number[] = [];
    while (!r.atEnd()) out.push(r.u16());
    return out;
  }
  /** Fails with decode_error unless every byte was consumed. */
  end(what: string): void {
    if (!this.atEnd()) throw decodeError(`${this.remaining} trailing bytes after ${what}`);
  }
  private checkMin(v: Uint8Array, min: number): Uint8Array {
    if (v.length < min) throw decodeError(`vector shorter than its minimum of ${min} bytes`);
    return v;
  }
}

export function decodeError(message: string): TLSError {
  return TLSError.local(AlertDescription.decode_error, message);
}
