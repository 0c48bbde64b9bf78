import { equalBytes } from "../../src/wire/bytes.js";
import {
  type DerNode,
  DerReader,
  readBitString,
  readBoolean,
  readOid,
  readSmallInt,
  readString,
  readTime,
} from "../../src/x509/der.js";
import { DistinguishedName } from "../../src/x509/name.js";
import { check, decodes } from "../support/invariants.js";

/** Tag-driven readers: each primitive goes through the reader its universal tag calls for. */
function visit(node: DerNode): void {
  if (node.constructed) {
    decodes(() => {
      const r = DerReader.of(node);
      while (!r.atEnd()) visit(r.next());
    });
    if (node.tag === 0x30) decodes(() => new DistinguishedName(node).toString());
    return;
  }
  decodes(() => {
    switch (node.tag) {
      case 0x01:
        return readBoolean(node);
      case 0x02:
        return readSmallInt(node, "integer");
      case 0x03:
        return readBitString(node);
      case 0x06:
        return readOid(node);
      case 0x17:
      case 0x18:
        return readTime(node);
      default:
        return readString(node);
    }
  });
}

/** The DER reader and its primitive readers on any bytes: only TLSError; nodes tile their parent. */
export function fuzz(data: Buffer): void {
  const buf = new Uint8Array(data);
  decodes(() => {
    const r = new DerReader(buf);
    let end = 0;
    while (!r.atEnd()) {
      const n = r.next();
      check(equalBytes(n.raw, buf.subarray(end, end + n.raw.length)), "node is not where the last one ended");
      end += n.raw.length;
      visit(n);
    }
  });
}
