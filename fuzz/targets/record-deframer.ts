import { RecordDeframer } from "../../src/record/deframer.js";
import { MAX_CIPHERTEXT_13, MAX_PLAINTEXT, recordHeader, type TLSRecord } from "../../src/record/record.js";
import { concat, equalBytes } from "../../src/wire/bytes.js";
import { check, decodes } from "../support/invariants.js";

/**
 * Record deframer. Input: one mode byte (bit 0: a version is negotiated, bits 1-2: fragment limit,
 * bits 3-7: chunk size - 1), then the byte stream, pushed in chunks of that size. Only TLSError may
 * be thrown; the records returned re-encode to a prefix of the input, respect the limit, and
 * nothing is lost (records + buffered bytes = input) unless the stream was refused.
 */
export function fuzz(data: Buffer): void {
  if (data.length === 0) return;
  const mode = data[0]!;
  const input = new Uint8Array(data.subarray(1));
  const d = new RecordDeframer();
  if (mode & 1) d.expectedVersion = 0x0303;
  const limits = [d.maxFragment, MAX_CIPHERTEXT_13, MAX_PLAINTEXT, 512];
  d.maxFragment = limits[(mode >> 1) & 3]!;
  const chunk = 1 + (mode >> 3);
  const out: TLSRecord[] = [];
  const done = decodes(() => {
    for (let o = 0; o < input.length; o += chunk) {
      d.push(input.subarray(o, o + chunk));
      for (let r = d.next(); r !== undefined; r = d.next()) out.push(r);
    }
    return true;
  });
  const framed = concat(
    ...out.map((r) => concat(recordHeader(r.type, r.version, r.fragment.length), r.fragment)),
  );
  check(equalBytes(framed, input.subarray(0, framed.length)), "records do not re-encode to the input");
  for (const r of out) check(r.fragment.length <= d.maxFragment, "fragment over the limit");
  if (done) check(framed.length + d.buffered === input.length, "bytes lost");
}
