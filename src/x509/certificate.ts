import type { HashAlgorithm } from "../constants.js";
import { SignatureScheme } from "../constants.js";
import {
  children,
  ctx,
  type DerNode,
  derError,
  integerBytes,
  parseDer,
  readAscii,
  readBitString,
  readBoolean,
  readOid,
  readSmallInt,
  readTime,
  Tag,
} from "./der.js";
import { formatIp } from "./hostname.js";
import { DistinguishedName } from "./name.js";
import { OID } from "./oids.js";

export interface SignatureAlgorithm {
  readonly oid: string;
  /**
   * The TLS SignatureScheme to verify with. For RSASSA-PSS this is the rsa_pss_rsae_* value; the
   * verifier switches to rsa_pss_pss_* when the issuer's key is an id-RSASSA-PSS key.
   */
  readonly scheme?: SignatureScheme | undefined;
  readonly hash?: HashAlgorithm | undefined;
  /** True for RSASSA-PSS. */
  readonly pss: boolean;
}

export interface Extension {
  readonly oid: string;
  readonly critical: boolean;
  /** Contents of the extnValue OCTET STRING. */
  readonly value: Uint8Array;
}

export interface BasicConstraints {
  readonly ca: boolean;
  readonly pathLen?: number | undefined;
}

export type KeyUsageName =
  | "digitalSignature"
  | "nonRepudiation"
  | "keyEncipherment"
  | "dataEncipherment"
  | "keyAgreement"
  | "keyCertSign"
  | "cRLSign"
  | "encipherOnly"
  | "decipherOnly";

const KEY_USAGE_BITS: readonly KeyUsageName[] = [
  "digitalSignature",
  "nonRepudiation",
  "keyEncipherment",
  "dataEncipherment",
  "keyAgreement",
  "keyCertSign",
  "cRLSign",
  "encipherOnly",
  "decipherOnly",
];

export interface SubjectAltName {
  readonly dns: readonly string[];
  /** Textual addresses: dotted IPv4, RFC 5952 IPv6. */
  readonly ip: readonly string[];
  /** Raw iPAddress values (4 or 16 bytes). */
  readonly ipBytes: readonly Uint8Array[];
  readonly email: readonly string[];
  readonly uri: readonly string[];
  /** Directory names (rare in TLS leaves). */
  readonly dirNames: readonly DistinguishedName[];
  /** Count of other GeneralName forms (otherName, x400Address, ediPartyName, registeredID). */
  readonly other: number;
}

export interface IpSubnet {
  /** 4 or 16 bytes. */
  readonly address: Uint8Array;
  readonly mask: Uint8Array;
}

export interface GeneralSubtrees {
  readonly dns: readonly string[];
  readonly ip: readonly IpSubnet[];
  readonly email: readonly string[];
  readonly uri: readonly string[];
  readonly dirNames: readonly DistinguishedName[];
  /** Count of subtrees of forms we do not process (otherName, x400, edi, registeredID). */
  readonly other: number;
}

export interface NameConstraints {
  readonly permitted?: GeneralSubtrees | undefined;
  readonly excluded?: GeneralSubtrees | undefined;
}

export interface AuthorityKeyId {
  readonly keyId?: Uint8Array | undefined;
}

export interface Certificate {
  readonly der: Uint8Array;
  /** DER of tbsCertificate: the signed bytes. */
  readonly tbs: Uint8Array;
  /** 1, 2 or 3. */
  readonly version: number;
  /** Uppercase hex, no leading zero bytes (as node's X509Certificate.serialNumber). */
  readonly serialNumber: string;
  readonly signatureAlgorithm: SignatureAlgorithm;
  readonly signature: Uint8Array;
  readonly issuer: DistinguishedName;
  readonly subject: DistinguishedName;
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** DER SubjectPublicKeyInfo. */
  readonly spki: Uint8Array;
  readonly publicKeyAlgorithm: string;
  /** Curve OID for EC keys. */
  readonly publicKeyParameters?: string | undefined;
  readonly extensions: readonly Extension[];
  readonly basicConstraints?: BasicConstraints | undefined;
  /** Undefined when the extension is absent. */
  readonly keyUsage?: ReadonlySet<KeyUsageName> | undefined;
  /** Undefined when the extension is absent. */
  readonly extKeyUsage?: readonly string[] | undefined;
  readonly subjectAltName?: SubjectAltName | undefined;
  readonly subjectKeyId?: Uint8Array | undefined;
  readonly authorityKeyId?: AuthorityKeyId | undefined;
  readonly nameConstraints?: NameConstraints | undefined;
  /** Subject and issuer names are equal. */
  readonly selfIssued: boolean;
}

const hex = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");

function hashOfOid(oid: string): HashAlgorithm | undefined {
  switch (oid) {
    case OID.sha1:
      return "sha1";
    case OID.sha256:
      return "sha256";
    case OID.sha384:
      return "sha384";
    case OID.sha512:
      return "sha512";
    default:
      return undefined;
  }
}

interface AlgId {
  oid: string;
  params?: DerNode | undefined;
}

function readAlgId(node: DerNode): AlgId {
  const r = children(node);
  const oid = readOid(r.expect(Tag.OID, "algorithm"));
  const params = r.atEnd() ? undefined : r.next();
  r.end("AlgorithmIdentifier");
  return { oid, params };
}

function noParamsOrNull(a: AlgId): boolean {
  return a.params === undefined || (a.params.tag === Tag.NULL && a.params.value.length === 0);
}

/** Hash of an AlgorithmIdentifier inside PSS params (absent = SHA-1 default). */
function pssHash(node: DerNode): HashAlgorithm | undefined {
  const a = readAlgId(node);
  return noParamsOrNull(a) ? hashOfOid(a.oid) : undefined;
}

function parsePss(params: DerNode | undefined): {
  scheme?: SignatureScheme | undefined;
  hash?: HashAlgorithm | undefined;
} {
  if (!params || params.tag !== Tag.SEQUENCE) return {};
  const r = children(params);
  let hash: HashAlgorithm | undefined = "sha1";
  let mgfHash: HashAlgorithm | undefined = "sha1";
  let salt = 20;
  const h = r.optional(ctx(0, true));
  if (h) {
    const hr = children(h);
    hash = pssHash(hr.expect(Tag.SEQUENCE, "PSS hashAlgorithm"));
    hr.end("PSS hashAlgorithm");
  }
  const m = r.optional(ctx(1, true));
  if (m) {
    const mr = children(m);
    const mgf = readAlgId(mr.expect(Tag.SEQUENCE, "PSS maskGenAlgorithm"));
    mr.end("PSS maskGenAlgorithm");
    mgfHash = mgf.oid === OID.mgf1 && mgf.params?.tag === Tag.SEQUENCE ? pssHash(mgf.params) : undefined;
  }
  const s = r.optional(ctx(2, true));
  if (s) {
    const sr = children(s);
    salt = readSmallInt(sr.expect(Tag.INTEGER, "PSS saltLength"), "PSS saltLength");
    sr.end("PSS saltLength");
  }
  const t = r.optional(ctx(3, true));
  if (t) {
    const tr = children(t);
    if (readSmallInt(tr.expect(Tag.INTEGER, "PSS trailerField"), "PSS trailerField") !== 1) return {};
    tr.end("PSS trailerField");
  }
  r.end("RSASSA-PSS-params");
  // TLS (and our CryptoProvider) supports PSS only with MGF1 over the same hash and salt = hash length.
  const table: Partial<Record<HashAlgorithm, [SignatureScheme, number]>> = {
    sha256: [SignatureScheme.rsa_pss_rsae_sha256, 32],
    sha384: [SignatureScheme.rsa_pss_rsae_sha384, 48],
    sha512: [SignatureScheme.rsa_pss_rsae_sha512, 64],
  };
  const e = hash ? table[hash] : undefined;
  if (!e || mgfHash !== hash || salt !== e[1]) return hash ? { hash } : {};
  return { scheme: e[0], hash };
}

function signatureAlgorithm(a: AlgId): SignatureAlgorithm {
  const plain = (scheme: SignatureScheme, hash: HashAlgorithm, paramsOk: boolean): SignatureAlgorithm =>
    paramsOk ? { oid: a.oid, scheme, hash, pss: false } : { oid: a.oid, pss: false };
  switch (a.oid) {
    case OID.sha1WithRSAEncryption:
      return plain(SignatureScheme.rsa_pkcs1_sha1, "sha1", noParamsOrNull(a));
    case OID.sha256WithRSAEncryption:
      return plain(SignatureScheme.rsa_pkcs1_sha256, "sha256", noParamsOrNull(a));
    case OID.sha384WithRSAEncryption:
      return plain(SignatureScheme.rsa_pkcs1_sha384, "sha384", noParamsOrNull(a));
    case OID.sha512WithRSAEncryption:
      return plain(SignatureScheme.rsa_pkcs1_sha512, "sha512", noParamsOrNull(a));
    case OID.ecdsaWithSHA1:
      return plain(SignatureScheme.ecdsa_sha1, "sha1", a.params === undefined);
    case OID.ecdsaWithSHA256:
      return plain(SignatureScheme.ecdsa_secp256r1_sha256, "sha256", a.params === undefined);
    case OID.ecdsaWithSHA384:
      return plain(SignatureScheme.ecdsa_secp384r1_sha384, "sha384", a.params === undefined);
    case OID.ecdsaWithSHA512:
      return plain(SignatureScheme.ecdsa_secp521r1_sha512, "sha512", a.params === undefined);
    case OID.ed25519:
      return a.params === undefined
        ? { oid: a.oid, scheme: SignatureScheme.ed25519, pss: false }
        : { oid: a.oid, pss: false };
    case OID.ed448:
      return a.params === undefined
        ? { oid: a.oid, scheme: SignatureScheme.ed448, pss: false }
        : { oid: a.oid, pss: false };
    case OID.rsassaPss:
      return { oid: a.oid, pss: true, ...parsePss(a.params) };
    default:
      return { oid: a.oid, pss: false };
  }
}

function serialHex(v: Uint8Array): string {
  let i = 0;
  if ((v[0]! & 0x80) !== 0) return `-${hex(v).toUpperCase()}`; // negative: not RFC 5280, but parse it
  while (i < v.length && v[i] === 0) i++;
  return i === v.length ? "0" : hex(v.subarray(i)).toUpperCase(); // as OpenSSL BN_bn2hex
}

function octetString(buf: Uint8Array, what: string): Uint8Array {
  return parseDer(buf, Tag.OCTET_STRING, what).value;
}

interface GeneralNamesOut {
  dns: string[];
  ip: Uint8Array[];
  email: string[];
  uri: string[];
  dirNames: DistinguishedName[];
  other: number;
}

/** One GeneralName (RFC 5280 §4.2.1.6). */
function addGeneralName(n: DerNode, out: GeneralNamesOut): void {
  switch (n.tag) {
    case ctx(1, false):
      out.email.push(readAscii(n.value, "rfc822Name"));
      return;
    case ctx(2, false):
      out.dns.push(readAscii(n.value, "dNSName"));
      return;
    case ctx(6, false):
      out.uri.push(readAscii(n.value, "uniformResourceIdentifier"));
      return;
    case ctx(7, false):
      out.ip.push(n.value);
      return;
    case ctx(4, true): {
      const r = children(n);
      out.dirNames.push(new DistinguishedName(r.expect(Tag.SEQUENCE, "directoryName")));
      r.end("directoryName");
      return;
    }
    case ctx(0, true): // otherName
    case ctx(3, true): // x400Address
    case ctx(5, true): // ediPartyName
    case ctx(8, false): // registeredID
      out.other++;
      return;
    default:
      throw derError(`bad GeneralName tag 0x${n.tag.toString(16)}`);
  }
}

function emptyNames(): GeneralNamesOut {
  return { dns: [], ip: [], email: [], uri: [], dirNames: [], other: 0 };
}

function parseSan(value: Uint8Array): SubjectAltName {
  const r = children(parseDer(value, Tag.SEQUENCE, "subjectAltName"));
  const out = emptyNames();
  if (r.atEnd()) throw derError("empty subjectAltName");
  while (!r.atEnd()) addGeneralName(r.next(), out);
  for (const ip of out.ip) if (ip.length !== 4 && ip.length !== 16) throw derError("bad iPAddress length");
  return {
    dns: out.dns,
    ip: out.ip.map(formatIp),
    ipBytes: out.ip,
    email: out.email,
    uri: out.uri,
    dirNames: out.dirNames,
    other: out.other,
  };
}

function parseSubtrees(node: DerNode): GeneralSubtrees {
  const r = children(node);
  const out = emptyNames();
  const ip: IpSubnet[] = [];
  if (r.atEnd()) throw derError("empty GeneralSubtrees");
  while (!r.atEnd()) {
    const st = children(r.expect(Tag.SEQUENCE, "GeneralSubtree"));
    const base = st.next();
    const min = st.optional(ctx(0, false));
    if (min && readSmallInt(min, "GeneralSubtree minimum") !== 0)
      throw derError("GeneralSubtree minimum must be 0");
    if (st.optional(ctx(1, false))) throw derError("GeneralSubtree maximum must be absent");
    st.end("GeneralSubtree");
    if (base.tag === ctx(7, false)) {
      const v = base.value;
      if (v.length !== 8 && v.length !== 32) throw derError("bad iPAddress constraint length");
      ip.push({ address: v.subarray(0, v.length / 2), mask: v.subarray(v.length / 2) });
    } else {
      addGeneralName(base, out);
    }
  }
  return { dns: out.dns, ip, email: out.email, uri: out.uri, dirNames: out.dirNames, other: out.other };
}

function parseNameConstraints(value: Uint8Array): NameConstraints {
  const r = children(parseDer(value, Tag.SEQUENCE, "nameConstraints"));
  const p = r.optional(ctx(0, true));
  const e = r.optional(ctx(1, true));
  r.end("nameConstraints");
  if (!p && !e) throw derError("empty nameConstraints");
  return { permitted: p ? parseSubtrees(p) : undefined, excluded: e ? parseSubtrees(e) : undefined };
}

function parseBasicConstraints(value: Uint8Array): BasicConstraints {
  const r = children(parseDer(value, Tag.SEQUENCE, "basicConstraints"));
  const caNode = r.optional(Tag.BOOLEAN);
  const ca = caNode ? readBoolean(caNode) : false;
  const pl = r.optional(Tag.INTEGER);
  r.end("basicConstraints");
  return pl ? { ca, pathLen: readSmallInt(pl, "pathLenConstraint") } : { ca };
}

function parseKeyUsage(value: Uint8Array): Set<KeyUsageName> {
  const bits = readBitString(parseDer(value, Tag.BIT_STRING, "keyUsage"));
  const out = new Set<KeyUsageName>();
  KEY_USAGE_BITS.forEach((name, i) => {
    const byte = bits.bytes[i >> 3];
    if (byte !== undefined && (byte & (0x80 >> (i & 7))) !== 0) out.add(name);
  });
  return out;
}

function parseEku(value: Uint8Array): string[] {
  const r = children(parseDer(value, Tag.SEQUENCE, "extKeyUsage"));
  const out: string[] = [];
  if (r.atEnd()) throw derError("empty extKeyUsage");
  while (!r.atEnd()) out.push(readOid(r.expect(Tag.OID, "KeyPurposeId")));
  return out;
}

function parseAki(value: Uint8Array): AuthorityKeyId {
  const r = children(parseDer(value, Tag.SEQUENCE, "authorityKeyIdentifier"));
  const k = r.optional(ctx(0, false));
  r.optional(ctx(1, true));
  r.optional(ctx(2, false));
  r.end("authorityKeyIdentifier");
  return { keyId: k?.value };
}

/** Parses one DER certificate. Throws TLSError(bad_certificate, CERT_PARSE_ERROR) on any malformation. */
export function parseCertificate(der: Uint8Array): Certificate {
  const cert = parseDer(der, Tag.SEQUENCE, "Certificate");
  const cr = children(cert);
  const tbsNode = cr.expect(Tag.SEQUENCE, "tbsCertificate");
  const outerAlgNode = cr.expect(Tag.SEQUENCE, "signatureAlgorithm");
  const sigBits = readBitString(cr.expect(Tag.BIT_STRING, "signatureValue"));
  cr.end("Certificate");
  if (sigBits.unusedBits !== 0) throw derError("signature is not a whole number of bytes");

  const t = children(tbsNode);
  let version = 1;
  const v = t.optional(ctx(0, true));
  if (v) {
    const vr = children(v);
    version = readSmallInt(vr.expect(Tag.INTEGER, "version"), "version") + 1;
    vr.end("version");
    if (version > 3) throw derError(`unknown certificate version ${version}`);
  }
  const serial = integerBytes(t.expect(Tag.INTEGER, "serialNumber"));
  const innerAlgNode = t.expect(Tag.SEQUENCE, "signature");
  if (!bytesEqual(innerAlgNode.raw, outerAlgNode.raw)) {
    throw derError("tbsCertificate.signature differs from signatureAlgorithm");
  }
  const issuer = new DistinguishedName(t.expect(Tag.SEQUENCE, "issuer"));
  const validity = children(t.expect(Tag.SEQUENCE, "validity"));
  const notBefore = readTime(validity.next());
  const notAfter = readTime(validity.next());
  validity.end("validity");
  const subject = new DistinguishedName(t.expect(Tag.SEQUENCE, "subject"));
  const spkiNode = t.expect(Tag.SEQUENCE, "subjectPublicKeyInfo");
  const sr = children(spkiNode);
  const keyAlg = readAlgId(sr.expect(Tag.SEQUENCE, "SPKI algorithm"));
  readBitString(sr.expect(Tag.BIT_STRING, "subjectPublicKey"));
  sr.end("SubjectPublicKeyInfo");
  if (t.optional(ctx(1, false)) && version < 2) throw derError("issuerUniqueID needs v2 or v3");
  if (t.optional(ctx(2, false)) && version < 2) throw derError("subjectUniqueID needs v2 or v3");
  const extensions: Extension[] = [];
  const extNode = t.optional(ctx(3, true));
  t.end("tbsCertificate");

  const out: {
    -readonly [K in keyof Certificate]: Certificate[K];
  } = {
    der: cert.raw,
    tbs: tbsNode.raw,
    version,
    serialNumber: serialHex(serial),
    signatureAlgorithm: signatureAlgorithm(readAlgId(outerAlgNode)),
    signature: sigBits.bytes,
    issuer,
    subject,
    notBefore,
    notAfter,
    spki: spkiNode.raw,
    publicKeyAlgorithm: keyAlg.oid,
    publicKeyParameters: keyAlg.params?.tag === Tag.OID ? readOid(keyAlg.params) : undefined,
    extensions,
    selfIssued: issuer.equals(subject),
  };

  if (extNode) {
    if (version !== 3) throw derError("extensions need a v3 certificate");
    const er = children(extNode);
    const list = er.expect(Tag.SEQUENCE, "extensions");
    er.end("extensions");
    const lr = children(list);
    if (lr.atEnd()) throw derError("empty extensions");
    const seen = new Set<string>();
    while (!lr.atEnd()) {
      const e = children(lr.expect(Tag.SEQUENCE, "Extension"));
      const oid = readOid(e.expect(Tag.OID, "extnID"));
      const c = e.optional(Tag.BOOLEAN);
      const critical = c ? readBoolean(c) : false;
      const value = e.expect(Tag.OCTET_STRING, "extnValue").value;
      e.end("Extension");
      if (seen.has(oid)) throw derError(`duplicate extension ${oid}`);
      seen.add(oid);
      extensions.push({ oid, critical, value });
      decodeExtension(out, oid, value);
    }
  }
  return out;
}

function decodeExtension(
  out: { -readonly [K in keyof Certificate]: Certificate[K] },
  oid: string,
  value: Uint8Array,
): void {
  switch (oid) {
    case OID.basicConstraints:
      out.basicConstraints = parseBasicConstraints(value);
      return;
    case OID.keyUsage:
      out.keyUsage = parseKeyUsage(value);
      return;
    case OID.extKeyUsage:
      out.extKeyUsage = parseEku(value);
      return;
    case OID.subjectAltName:
      out.subjectAltName = parseSan(value);
      return;
    case OID.subjectKeyIdentifier:
      out.subjectKeyId = octetString(value, "subjectKeyIdentifier");
      return;
    case OID.authorityKeyIdentifier:
      out.authorityKeyId = parseAki(value);
      return;
    case OID.nameConstraints:
      out.nameConstraints = parseNameConstraints(value);
      return;
  }
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

const PEM_RE = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/g;

/**
 * DER bodies of every PEM block with the given label, in order. Text outside blocks is ignored.
 * Throws TLSError(bad_certificate, CERT_PARSE_ERROR) on bad base64 inside a block.
 */
export function pemToDer(pem: string, label = "CERTIFICATE"): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const m of pem.matchAll(PEM_RE)) {
    if (m[1] !== label) continue;
    const body = m[2]!.replace(/\s+/g, "");
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(body) || body.length % 4 !== 0) throw derError("bad base64 in PEM");
    out.push(new Uint8Array(Buffer.from(body, "base64")));
  }
  return out;
}

/** DER -> PEM with 64-column lines. */
export function derToPem(der: Uint8Array, label = "CERTIFICATE"): string {
  const b64 = Buffer.from(der.buffer, der.byteOffset, der.byteLength).toString("base64");
  return `-----BEGIN ${label}-----\n${b64.replace(/.{64}/g, "$&\n").replace(/\n$/, "")}\n-----END ${label}-----\n`;
}
