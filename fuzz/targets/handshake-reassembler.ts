import type { HandshakeMessage } from "../../src/handshake/messages/framing.js";
import { HandshakeReassembler } from "../../src/handshake/reassembler.js";
import { concat, equalBytes } from "../../src/wire/bytes.js";
import { check, decodes } from "../support/invariants.js";

/**
 * Handshake reassembler. Input: a mode byte (bits 0-1: message size limit, bits 2-7: fragment
 * size - 1), then handshake bytes pushed in fragments of that size. Only TLSError may be thrown;
 * the messages returned are the input's prefix, each within the limit, with body = raw minus header.
 */
export function fuzz(data: Buffer): void {
  if (data.length === 0) return;
  const mode = data[0]!;
  const input = new Uint8Array(data.subarray(1));
  const limit = [65536, 16, 300, 1 << 24][mode & 3]!;
  const step = 1 + (mode >> 2);
  const r = new HandshakeReassembler({ maxHandshakeMessageSize: limit, maxCertificateChainSize: limit });
  const out: HandshakeMessage[] = [];
  const done = decodes(() => {
    for (let o = 0; o < input.length; o += step) {
      r.push(input.subarray(o, o + step));
      for (let m = r.next(); m !== undefined; m = r.next()) out.push(m);
    }
    return true;
  });
  const raw = concat(...out.map((m) => m.raw));
  check(equalBytes(raw, input.subarray(0, raw.length)), "messages are not the input's prefix");
  for (const m of out) {
    check(m.body.length <= limit, "message over the limit");
    check(m.raw[0] === m.type && equalBytes(m.raw.subarray(4), m.body), "inconsistent message");
    check(((m.raw[1]! << 16) | (m.raw[2]! << 8) | m.raw[3]!) === m.body.length, "length field mismatch");
  }
  if (done) check(r.hasPartial === raw.length < input.length, "hasPartial disagrees with the bytes left");
}
