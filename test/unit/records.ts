import { ContentType } from "../../src/constants.js";
import type { HandshakeMessage } from "../../src/handshake/messages/framing.js";
import { recordHeader, type TLSRecord } from "../../src/record/record.js";
import { concat } from "../../src/wire/bytes.js";

/** Test helpers that read and write raw records, to play a scripted or tampering peer. */

export function parseRecords(bytes: Uint8Array): TLSRecord[] {
  const out: TLSRecord[] = [];
  let o = 0;
  while (o + 5 <= bytes.length) {
    const len = (bytes[o + 3]! << 8) | bytes[o + 4]!;
    out.push({
      type: bytes[o]!,
      version: (bytes[o + 1]! << 8) | bytes[o + 2]!,
      fragment: bytes.slice(o + 5, o + 5 + len),
    });
    o += 5 + len;
  }
  if (o !== bytes.length) throw new Error("trailing partial record");
  return out;
}

export function frameRecord(r: TLSRecord): Uint8Array {
  return concat(recordHeader(r.type, r.version, r.fragment.length), r.fragment);
}

export function frameRecords(rs: TLSRecord[]): Uint8Array {
  return concat(...rs.map(frameRecord));
}

/** Splits the handshake messages out of plaintext handshake records. */
export function handshakeMessages(records: TLSRecord[]): HandshakeMessage[] {
  const data = concat(...records.filter((r) => r.type === ContentType.handshake).map((r) => r.fragment));
  const out: HandshakeMessage[] = [];
  let o = 0;
  while (o + 4 <= data.length) {
    const len = (data[o + 1]! << 16) | (data[o + 2]! << 8) | data[o + 3]!;
    const raw = data.slice(o, o + 4 + len);
    out.push({ type: raw[0]!, body: raw.subarray(4), raw });
    o += 4 + len;
  }
  return out;
}

export function handshakeRecord(msgs: HandshakeMessage[], version = 0x0303): Uint8Array {
  return frameRecord({ type: ContentType.handshake, version, fragment: concat(...msgs.map((m) => m.raw)) });
}

/** The alerts (level, description) found in plaintext records; encrypted ones are not readable here. */
export function plaintextAlerts(bytes: Uint8Array): Array<[number, number]> {
  return parseRecords(bytes)
    .filter((r) => r.type === ContentType.alert && r.fragment.length === 2)
    .map((r) => [r.fragment[0]!, r.fragment[1]!]);
}
