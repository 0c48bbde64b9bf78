import { AlertDescription } from "../alert.js";
import { TLSError } from "../errors.js";

/**
 * Strict DER reader (X.690 §10): low tag numbers only, definite lengths in minimal form, no BER
 * constructed strings, a nesting depth limit. Every failure is a TLSError(bad_certificate) with
 * code CERT_PARSE_ERROR, because the only DER we read is certificates and their parts.
 */

export const MAX_DEPTH = 24;

export function derError(message: string): TLSError {
  return TLSError.local(
    AlertDescription.bad_certificate,
    `certificate parse error: ${message}`,
    "CERT_PARSE_ERROR",
  );
}

/** Universal tags and the context-specific / constructed bits as whole identifier octets. */
export const Tag = {
  BOOLEAN: 0x01,
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  NULL: 0x05,
  OID: 0x06,
  UTF8String: 0x0c,
  SEQUENCE: 0x30,
  SET: 0x31,
  PrintableString: 0x13,
  T61String: 0x14,
  IA5String: 0x16,
  UTCTime: 0x17,
  GeneralizedTime: 0x18,
  UniversalString: 0x1c,
  BMPString: 0x1e,
  VisibleString: 0x1a,
} as const;

/** Context-specific tag [n]: primitive (implicit) or constructed (explicit / implicit SEQUENCE). */
export function ctx(n: number, constructed: boolean): number {
  return 0x80 | (constructed ? 0x20 : 0) | n;
}

export interface DerNode {
  /** The identifier octet. */
  readonly tag: number;
  readonly constructed: boolean;
  /** Contents octets. */
  readonly value: Uint8Array;
  /** The whole TLV encoding. */
  readonly raw: Uint8Array;
  /** Nesting depth of this node (0 = top level). */
  readonly depth: number;
}

export class DerReader {
  private pos = 0;
  constructor(
    private readonly buf: Uint8Array,
    private readonly depth = 0,
  ) {
    if (depth > MAX_DEPTH) throw derError(`nesting deeper than ${MAX_DEPTH}`);
  }

  /** A reader over the contents of a constructed node. */
  static of(node: DerNode): DerReader {
    if (!node.constructed) throw derError(`tag 0x${node.tag.toString(16)} is not constructed`);
    return new DerReader(node.value, node.depth + 1);
  }

  atEnd(): boolean {
    return this.pos >= this.buf.length;
  }

  peekTag(): number | undefined {
    return this.atEnd() ? undefined : this.buf[this.pos];
  }

  next(): DerNode {
    const start = this.pos;
    const buf = this.buf;
    if (start >= buf.length) throw derError("unexpected end of data");
    const tag = buf[start]!;
    if ((tag & 0x1f) === 0x1f) throw derError("high tag numbers are not supported");
    let p = start + 1;
    if (p >= buf.length) throw derError("truncated length");
    const first = buf[p++]!;
    let len: number;
    if (first < 0x80) {
      len = first;
    } else if (first === 0x80) {
      throw derError("indefinite length is not DER");
    } else {
      const n = first & 0x7f;
      if (n > 4) throw derError("length too large");
      if (p + n > buf.length) throw derError("truncated length");
      if (buf[p] === 0) throw derError("non-minimal length encoding");
      len = 0;
      for (let i = 0; i < n; i++) len = len * 256 + buf[p + i]!;
      p += n;
      if (len < 0x80) throw derError("non-minimal length encoding");
    }
    if (len > buf.length - p) throw derError(`truncated value: need ${len} bytes, have ${buf.length - p}`);
    const value = buf.subarray(p, p + len);
    this.pos = p + len;
    return {
      tag,
      constructed: (tag & 0x20) !== 0,
      value,
      raw: buf.subarray(start, p + len),
      depth: this.depth,
    };
  }

  /** Reads the next node and requires its identifier octet to be `tag`. */
  expect(tag: number, what: string): DerNode {
    const t = this.peekTag();
    if (t !== tag) {
      throw derError(
        t === undefined
          ? `missing ${what}`
          : `expected ${what} (tag 0x${tag.toString(16)}), got tag 0x${t.toString(16)}`,
      );
    }
    return this.next();
  }

  optional(tag: number): DerNode | undefined {
    return this.peekTag() === tag ? this.next() : undefined;
  }

  end(what: string): void {
    if (!this.atEnd()) throw derError(`${this.buf.length - this.pos} trailing bytes after ${what}`);
  }
}

/** Parses exactly one TLV that spans all of `buf`. */
export function parseDer(buf: Uint8Array, tag: number, what: string): DerNode {
  const r = new DerReader(buf);
  const n = r.expect(tag, what);
  r.end(what);
  return n;
}

/** Contents of a SEQUENCE (or other constructed node) as a reader. */
export function children(node: DerNode): DerReader {
  return DerReader.of(node);
}

export function readBoolean(node: DerNode): boolean {
  if (node.tag !== Tag.BOOLEAN || node.value.length !== 1) throw derError("bad BOOLEAN");
  const v = node.value[0]!;
  if (v === 0x00) return false;
  if (v === 0xff) return true;
  throw derError("BOOLEAN not encoded as 0x00 or 0xFF");
}

/** INTEGER contents (two's complement, minimal). */
export function integerBytes(node: DerNode): Uint8Array {
  const v = node.value;
  if (v.length === 0) throw derError("empty INTEGER");
  if (v.length > 1 && ((v[0] === 0x00 && (v[1]! & 0x80) === 0) || (v[0] === 0xff && (v[1]! & 0x80) !== 0))) {
    throw derError("non-minimal INTEGER");
  }
  return v;
}

/** A small non-negative INTEGER as a number. */
export function readSmallInt(node: DerNode, what: string): number {
  if (node.tag !== Tag.INTEGER && (node.tag & 0xc0) !== 0x80) throw derError(`bad ${what}`);
  const v = integerBytes(node);
  if ((v[0]! & 0x80) !== 0) throw derError(`negative ${what}`);
  if (v.length > 6) throw derError(`${what} too large`);
  let n = 0;
  for (const b of v) n = n * 256 + b;
  return n;
}

export function readOid(node: DerNode): string {
  if (node.tag !== Tag.OID) throw derError("expected OBJECT IDENTIFIER");
  const v = node.value;
  if (v.length === 0) throw derError("empty OBJECT IDENTIFIER");
  if (v[v.length - 1]! & 0x80) throw derError("truncated OBJECT IDENTIFIER");
  const arcs: number[] = [];
  let n = 0;
  let startOfArc = true;
  for (const b of v) {
    if (startOfArc && b === 0x80) throw derError("non-minimal OBJECT IDENTIFIER arc");
    if (n > 2 ** 45) throw derError("OBJECT IDENTIFIER arc too large");
    n = n * 128 + (b & 0x7f);
    startOfArc = (b & 0x80) === 0;
    if (startOfArc) {
      arcs.push(n);
      n = 0;
    }
  }
  const first = arcs[0]!;
  const head = first < 40 ? [0, first] : first < 80 ? [1, first - 40] : [2, first - 80];
  return [...head, ...arcs.slice(1)].join(".");
}

export interface BitString {
  unusedBits: number;
  bytes: Uint8Array;
}

export function readBitString(node: DerNode): BitString {
  if (node.tag !== Tag.BIT_STRING) throw derError("expected BIT STRING");
  const v = node.value;
  if (v.length === 0) throw derError("empty BIT STRING");
  const unusedBits = v[0]!;
  if (unusedBits > 7 || (v.length === 1 && unusedBits !== 0)) throw derError("bad BIT STRING padding");
  const bytes = v.subarray(1);
  if (unusedBits > 0 && (bytes[bytes.length - 1]! & ((1 << unusedBits) - 1)) !== 0) {
    throw derError("BIT STRING padding bits not zero");
  }
  return { unusedBits, bytes };
}

const latin1 = new TextDecoder("latin1");
const utf8Fatal = new TextDecoder("utf-8", { fatal: true });

/** Decodes the ASN.1 string types used in names and general names. */
export function readString(node: DerNode): string {
  const v = node.value;
  switch (node.tag) {
    case Tag.UTF8String:
      try {
        return utf8Fatal.decode(v);
      } catch {
        throw derError("invalid UTF8String");
      }
    case Tag.PrintableString:
    case Tag.IA5String:
    case Tag.VisibleString:
    case Tag.T61String:
      return latin1.decode(v);
    case Tag.BMPString: {
      if (v.length % 2 !== 0) throw derError("odd BMPString length");
      let s = "";
      for (let i = 0; i < v.length; i += 2) s += String.fromCharCode((v[i]! << 8) | v[i + 1]!);
      return s;
    }
    case Tag.UniversalString: {
      if (v.length % 4 !== 0) throw derError("bad UniversalString length");
      let s = "";
      for (let i = 0; i < v.length; i += 4) {
        const cp = ((v[i]! << 24) | (v[i + 1]! << 16) | (v[i + 2]! << 8) | v[i + 3]!) >>> 0;
        if (cp > 0x10ffff) throw derError("bad UniversalString code point");
        s += String.fromCodePoint(cp);
      }
      return s;
    }
    default:
      throw derError(`unsupported string type 0x${node.tag.toString(16)}`);
  }
}

/** IA5String-like contents (context-tagged in GeneralName): ASCII only. */
export function readAscii(v: Uint8Array, what: string): string {
  for (const b of v) if (b > 0x7f) throw derError(`non-ASCII ${what}`);
  return latin1.decode(v);
}

function digits(s: string, at: number, n: number): number {
  let v = 0;
  for (let i = at; i < at + n; i++) {
    const c = s.charCodeAt(i) - 48;
    if (c < 0 || c > 9) throw derError("bad time digits");
    v = v * 10 + c;
  }
  return v;
}

/** UTCTime (YYMMDDHHMMSSZ) or GeneralizedTime (YYYYMMDDHHMMSSZ), as RFC 5280 §4.1.2.5 requires. */
export function readTime(node: DerNode): Date {
  const s = readAscii(node.value, "time");
  let year: number;
  let rest: number;
  if (node.tag === Tag.UTCTime) {
    if (s.length !== 13) throw derError("UTCTime must be YYMMDDHHMMSSZ");
    const yy = digits(s, 0, 2);
    year = yy >= 50 ? 1900 + yy : 2000 + yy;
    rest = 2;
  } else if (node.tag === Tag.GeneralizedTime) {
    if (s.length !== 15) throw derError("GeneralizedTime must be YYYYMMDDHHMMSSZ");
    year = digits(s, 0, 4);
    rest = 4;
  } else {
    throw derError("expected UTCTime or GeneralizedTime");
  }
  if (s[s.length - 1] !== "Z") throw derError("time must be in UTC (Z)");
  const month = digits(s, rest, 2);
  const day = digits(s, rest + 2, 2);
  const hour = digits(s, rest + 4, 2);
  const minute = digits(s, rest + 6, 2);
  const second = digits(s, rest + 8, 2);
  const ms = Date.UTC(year, month - 1, day, hour, minute, second);
  const d = new Date(ms);
  if (
    month < 1 ||
    month > 12 ||
    hour > 23 ||
    minute > 59 ||
    second > 59 ||
    d.getUTCDate() !== day ||
    d.getUTCMonth() !== month - 1
  ) {
    throw derError("time out of range");
  }
  if (year < 100) d.setUTCFullYear(year); // Date.UTC maps 0..99 to 1900..1999
  return d;
}
