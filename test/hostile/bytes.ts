/**
 * A byte builder for the scripted hostile peers, written apart from src/handshake/messages so that
 * the scripts can say anything, lengths included: every vector helper writes the true length, and
 * `raw` bytes may carry any length the script wants to lie about.
 */

import { concat } from "../../src/wire/bytes.js";

export type Bytes = Uint8Array;

/** The parts one after another (the wire's own concat: nothing about TLS in it). */
export const cat: (...parts: Bytes[]) => Bytes = concat;

export const u8 = (v: number): Bytes => Uint8Array.of(v & 0xff);
export const u16 = (v: number): Bytes => Uint8Array.of((v >> 8) & 0xff, v & 0xff);
export const u24 = (v: number): Bytes => Uint8Array.of((v >> 16) & 0xff, (v >> 8) & 0xff, v & 0xff);
export const u32 = (v: number): Bytes => cat(u16(v >>> 16), u16(v & 0xffff));
export const vec8 = (...b: Bytes[]): Bytes => {
  const body = cat(...b);
  return cat(u8(body.length), body);
};
export const vec16 = (...b: Bytes[]): Bytes => {
  const body = cat(...b);
  return cat(u16(body.length), body);
};
export const vec24 = (...b: Bytes[]): Bytes => {
  const body = cat(...b);
  return cat(u24(body.length), body);
};
/** A list of 16-bit code points (cipher suites, groups, schemes, versions) in a vec16. */
export const list16 = (values: readonly number[]): Bytes => vec16(...values.map(u16));
export const text = (s: string): Bytes => new TextEncoder().encode(s);
export const zeros = (n: number): Bytes => new Uint8Array(n);

/** Extension: uint16 type, opaque data<0..2^16-1>. */
export const ext = (type: number, ...body: Bytes[]): Bytes => cat(u16(type), vec16(...body));

/** Handshake message: HandshakeType msg_type; uint24 length; body. */
export const hs = (type: number, ...body: Bytes[]): Bytes => cat(u8(type), vec24(...body));

/** A plaintext record: ContentType type; ProtocolVersion version; uint16 length; fragment. */
export const record = (type: number, fragment: Bytes, version = 0x0303): Bytes =>
  cat(u8(type), u16(version), u16(fragment.length), fragment);

/** Handshake message mutations that keep the outer header length honest. */
export const mutate = {
  /** One byte less body (the header says so). */
  truncate(msg: Bytes, by = 1): Bytes {
    return hs(msg[0]!, msg.subarray(4, msg.length - by));
  },
  /** Trailing bytes inside the message (the header counts them). */
  pad(msg: Bytes, extra: Bytes = Uint8Array.of(0)): Bytes {
    return hs(msg[0]!, msg.subarray(4), extra);
  },
  /** The same body with another message type. */
  retype(msg: Bytes, type: number): Bytes {
    return hs(type, msg.subarray(4));
  },
};

/** GREASE values (RFC 8701 §2): 0x0A0A, 0x1A1A, ..., 0xFAFA. */
export const grease = (i: number): number => (((i & 0xf) << 4) | 0x0a) * 0x101;

export const hex = (b: Bytes): string => Buffer.from(b).toString("hex");
