import { children, type DerNode, derError, readOid, readString, Tag } from "./der.js";
import { ATTRIBUTE_NAMES } from "./oids.js";

export interface NameAttribute {
  readonly oid: string;
  /** Short name (CN, O, ...) or the dotted OID when unknown. */
  readonly name: string;
  /** Decoded value; for non-string values, the hex of the DER value. */
  readonly value: string;
  /** Identifier octet of the value's ASN.1 type. */
  readonly valueTag: number;
}

const hex = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");

/** RFC 4514 §2.4 escaping (enough to make the output unambiguous). */
function escapeValue(v: string): string {
  let s = v.replace(/([,+"\\<>;=])/g, "\\$1");
  if (s.startsWith(" ") || s.startsWith("#")) s = `\\${s}`;
  if (s.endsWith(" ") && s.length > 1) s = `${s.slice(0, -1)}\\ `;
  return s;
}

/**
 * An X.501 Name (RDNSequence). Two names are equal when their normalised forms match:
 * string values are compared case-insensitively with internal whitespace runs collapsed and
 * leading/trailing space removed (a simplification of RFC 5280 §7.1 / RFC 4518); other values by bytes.
 */
export class DistinguishedName {
  /** The DER encoding of the whole Name. */
  readonly der: Uint8Array;
  /** Relative distinguished names in encoding order, each a set of attributes. */
  readonly rdns: readonly (readonly NameAttribute[])[];
  /** Normalised form used for equality and map keys. */
  readonly key: string;
  /** Normalised form of each RDN (for prefix checks in name constraints). */
  readonly rdnKeys: readonly string[];

  constructor(node: DerNode) {
    if (node.tag !== Tag.SEQUENCE) throw derError("Name is not a SEQUENCE");
    this.der = node.raw;
    const rdns: NameAttribute[][] = [];
    const keys: string[] = [];
    const r = children(node);
    while (!r.atEnd()) {
      const set = r.expect(Tag.SET, "RelativeDistinguishedName");
      const sr = children(set);
      const rdn: NameAttribute[] = [];
      const rdnKeys: string[] = [];
      if (sr.atEnd()) throw derError("empty RelativeDistinguishedName");
      while (!sr.atEnd()) {
        const atv = children(sr.expect(Tag.SEQUENCE, "AttributeTypeAndValue"));
        const oid = readOid(atv.expect(Tag.OID, "attribute type"));
        const vnode = atv.next();
        atv.end("AttributeTypeAndValue");
        let value: string;
        let norm: string;
        try {
          value = readString(vnode);
          norm = `s:${value.trim().replace(/\s+/g, " ").toLowerCase()}`;
        } catch {
          value = `#${hex(vnode.raw)}`;
          norm = `b:${hex(vnode.raw)}`;
        }
        rdn.push({ oid, name: ATTRIBUTE_NAMES[oid] ?? oid, value, valueTag: vnode.tag });
        rdnKeys.push(`${oid}=${JSON.stringify(norm)}`);
      }
      rdns.push(rdn);
      keys.push(rdnKeys.sort().join("+"));
    }
    this.rdns = rdns;
    this.rdnKeys = keys;
    this.key = JSON.stringify(keys);
  }

  /** All attributes in order. */
  get attributes(): NameAttribute[] {
    return this.rdns.flat();
  }

  /** Values of one attribute type (short name like "CN" or a dotted OID). */
  get(nameOrOid: string): string[] {
    return this.attributes.filter((a) => a.name === nameOrOid || a.oid === nameOrOid).map((a) => a.value);
  }

  get isEmpty(): boolean {
    return this.rdns.length === 0;
  }

  equals(other: DistinguishedName): boolean {
    return this.key === other.key;
  }

  /** "CN=x, O=y" in encoding order; multi-valued RDNs joined with "+". */
  toString(): string {
    return this.rdns.map((rdn) => rdn.map((a) => `${a.name}=${escapeValue(a.value)}`).join("+")).join(", ");
  }
}
