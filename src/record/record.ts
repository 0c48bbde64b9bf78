import type { ContentType } from "../constants.js";

/** RFC 5246 §6.2.1 / RFC 8446 §5.1: struct { ContentType type; ProtocolVersion version; uint16 length; opaque fragment[length]; } */
export interface TLSRecord {
  type: ContentType;
  version: number;
  fragment: Uint8Array;
}

export const RECORD_HEADER_LENGTH = 5;
/** 2^14: the largest plaintext fragment (RFC 5246 §6.2.1, RFC 8446 §5.1). */
export const MAX_PLAINTEXT = 16384;
/** 2^14 + 2048: the largest TLS 1.2 ciphertext fragment (RFC 5246 §6.2.3). */
export const MAX_CIPHERTEXT_12 = 16384 + 2048;
/** 2^14 + 256: the largest TLS 1.3 ciphertext fragment (RFC 8446 §5.2). */
export const MAX_CIPHERTEXT_13 = 16384 + 256;

export function recordHeader(type: ContentType, version: number, length: number): Uint8Array {
  return Uint8Array.of(type, version >> 8, version & 0xff, length >> 8, length & 0xff);
}
