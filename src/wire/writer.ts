/** Growable byte writer with length-prefixed vectors; the encode-side twin of Reader. */
export class Writer {
  private buf = new Uint8Array(256);
  private len = 0;

  private grow(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }
  u8(v: number): this {
    this.grow(1);
    this.buf[this.len++] = v & 0xff;
    return this;
  }
  u16(v: number): this {
    this.grow(2);
    this.buf[this.len++] = (v >>> 8) & 0xff;
    this.buf[this.len++] = v & 0xff;
    return this;
  }
  u24(v: number): this {
    this.grow(3);
    this.buf[this.len++] = (v >>> 16) & 0xff;
    this.buf[this.len++] = (v >>> 8) & 0xff;
    this.buf[this.len++] = v & 0xff;
    return this;
  }
  u32(v: number): this {
    this.grow(4);
    this.buf[this.len++] = (v >>> 24) & 0xff;
    this.buf[this.len++] = (v >>> 16) & 0xff;
    this.buf[this.len++] = (v >>> 8) & 0xff;
    this.buf[this.len++] = v & 0xff;
    return this;
  }
  bytes(v: Uint8Array): this {
    this.grow(v.length);
    this.buf.set(v, this.len);
    this.len += v.length;
    return this;
  }
  /** Writes a vector whose body is produced by `body`, prefixed with its length in `lenBytes` bytes. */
  vec(lenBytes: 1 | 2 | 3, body: (w: Writer) => void): this {
    const start = this.len;
    this.grow(lenBytes);
    this.len += lenBytes;
    body(this);
    const n = this.len - start - lenBytes;
    const max = lenBytes === 1 ? 0xff : lenBytes === 2 ? 0xffff : 0xffffff;
    if (n > max) throw new RangeError(`vector of ${n} bytes does not fit a ${lenBytes}-byte length`);
    for (let i = 0; i < lenBytes; i++) this.buf[start + i] = (n >>> (8 * (lenBytes - 1 - i))) & 0xff;
    return this;
  }
  vec8(v: Uint8Array): this {
    return this.vec(1, (w) => w.bytes(v));
  }
  vec16(v: Uint8Array): this {
    return this.vec(2, (w) => w.bytes(v));
  }
  vec24(v: Uint8Array): this {
    return this.vec(3, (w) => w.bytes(v));
  }
  u16List(lenBytes: 1 | 2, values: readonly number[]): this {
    return this.vec(lenBytes, (w) => {
      for (const v of values) w.u16(v);
    });
  }
  finish(): Uint8Array {
    return this.buf.slice(0, this.len);
  }
}

export function encode(body: (w: Writer) => void): Uint8Array {
  const w = new Writer();
  body(w);
  return w.finish();
}
