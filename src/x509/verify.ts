import { AlertDescription } from "../alert.js";
import { SignatureScheme } from "../constants.js";
import type { CryptoProvider, PublicKey } from "../crypto/provider.js";
import { TLSError } from "../errors.js";
import {
  type Certificate,
  type GeneralSubtrees,
  type IpSubnet,
  parseCertificate,
  pemToDer,
} from "./certificate.js";
import { checkHostname, hostnameMismatchReason } from "./hostname.js";
import { KNOWN_EXTENSIONS, OID } from "./oids.js";

export interface VerifyContext {
  purpose: "serverAuth" | "clientAuth";
  /** DNS name or IP literal; omitted = no name check. */
  hostname?: string;
  now?: Date;
}

export interface VerifiedChain {
  leaf: Certificate;
  /** leaf first, trust anchor last */
  path: Certificate[];
  leafPublicKey: PublicKey;
}

export interface CertVerifier {
  /** `chain`: DER certificates as sent, leaf first. Throws TLSError on failure. */
  verify(chain: readonly Uint8Array[], ctx: VerifyContext): VerifiedChain;
}

export interface ChainVerifierOptions {
  /** PEM strings (each may hold several certificates) or DER certificates. */
  roots: readonly (string | Uint8Array)[];
  crypto: CryptoProvider;
  /** Maximum certificates in a path, leaf and anchor included. Default 8. */
  maxDepth?: number;
}

/** Most certificates accepted in a peer's list. */
const MAX_SENT = 32;
/** Upper bound on signature checks per verify() call (no exponential search). */
const MAX_SIGNATURE_CHECKS = 48;
const MIN_RSA_BITS = 2048;

function fail(alert: AlertDescription, code: string, message: string): TLSError {
  return TLSError.local(alert, message, code);
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function describe(c: Certificate): string {
  return `"${c.subject.toString()}"`;
}

/** Search state: the first (most specific) error seen, in priority order. */
interface SearchNotes {
  signatureChecks: number;
  sigFailure?: TLSError;
  algFailure?: TLSError;
  selfSignedInChain?: Certificate;
  tooLong?: boolean;
  leafIssuerSeen: boolean;
  validationError?: TLSError;
}

export class ChainVerifier implements CertVerifier {
  private readonly crypto: CryptoProvider;
  private readonly maxDepth: number;
  private readonly roots: Certificate[] = [];
  private readonly rootsBySubject = new Map<string, Certificate[]>();
  /** Root entries (PEM blocks or DER) that did not parse and were skipped. */
  readonly rejectedRoots: number = 0;
  private readonly keyCache = new WeakMap<Certificate, PublicKey>();

  constructor(opts: ChainVerifierOptions) {
    this.crypto = opts.crypto;
    this.maxDepth = opts.maxDepth ?? 8;
    let rejected = 0;
    for (const r of opts.roots) {
      const ders = typeof r === "string" ? pemToDer(r) : [r];
      if (typeof r === "string" && ders.length === 0) rejected++;
      for (const der of ders) {
        try {
          this.addRoot(parseCertificate(der));
        } catch {
          rejected++;
        }
      }
    }
    this.rejectedRoots = rejected;
  }

  get rootCount(): number {
    return this.roots.length;
  }

  private addRoot(c: Certificate): void {
    const list = this.rootsBySubject.get(c.subject.key) ?? [];
    if (list.some((x) => bytesEqual(x.der, c.der))) return;
    list.push(c);
    this.rootsBySubject.set(c.subject.key, list);
    this.roots.push(c);
  }

  /** The trust-store entry for `c`, matched by subject name and public key. */
  private anchorFor(c: Certificate): Certificate | undefined {
    return this.rootsBySubject.get(c.subject.key)?.find((r) => bytesEqual(r.spki, c.spki));
  }

  verify(chain: readonly Uint8Array[], ctx: VerifyContext): VerifiedChain {
    if (chain.length === 0)
      throw fail(AlertDescription.bad_certificate, "NO_CERTIFICATE", "no certificate presented");
    if (chain.length > MAX_SENT) {
      throw fail(
        AlertDescription.bad_certificate,
        "CERT_CHAIN_TOO_LONG",
        `${chain.length} certificates sent (at most ${MAX_SENT})`,
      );
    }
    const sent = chain.map((der) => {
      try {
        return parseCertificate(der);
      } catch (e) {
        if (e instanceof TLSError) throw e;
        throw fail(
          AlertDescription.bad_certificate,
          "CERT_PARSE_ERROR",
          `certificate parse error: ${String(e)}`,
        );
      }
    });
    const leaf = sent[0]!;
    const pool = dedupe(sent.slice(1));
    const now = ctx.now ?? new Date();
    const notes: SearchNotes = { signatureChecks: 0, leafIssuerSeen: false };

    let found: Certificate[] | undefined;
    this.search([leaf], pool, notes, (path) => {
      try {
        this.validatePath(path, ctx, now);
        found = path;
        return true;
      } catch (e) {
        if (!(e instanceof TLSError)) throw e;
        notes.validationError ??= e;
        return false;
      }
    });

    if (!found) throw this.noPathError(leaf, notes);
    const leafPublicKey = this.publicKey(leaf);
    if (ctx.hostname !== undefined && !checkHostname(leaf, ctx.hostname)) {
      throw fail(
        AlertDescription.bad_certificate,
        "ERR_TLS_CERT_ALTNAME_INVALID",
        `Hostname/IP does not match certificate's altnames: ${hostnameMismatchReason(leaf, ctx.hostname)}`,
      );
    }
    return { leaf, path: found, leafPublicKey };
  }

  private noPathError(leaf: Certificate, n: SearchNotes): TLSError {
    if (n.validationError) return n.validationError;
    if (n.algFailure) return n.algFailure;
    if (n.sigFailure) return n.sigFailure;
    if (n.tooLong) {
      return fail(
        AlertDescription.bad_certificate,
        "CERT_CHAIN_TOO_LONG",
        `no path within ${this.maxDepth} certificates`,
      );
    }
    if (leaf.selfIssued && !n.leafIssuerSeen) {
      return fail(
        AlertDescription.unknown_ca,
        "DEPTH_ZERO_SELF_SIGNED_CERT",
        `self-signed certificate ${describe(leaf)} is not trusted`,
      );
    }
    if (n.selfSignedInChain) {
      return fail(
        AlertDescription.unknown_ca,
        "SELF_SIGNED_CERT_IN_CHAIN",
        `self-signed certificate in certificate chain: ${describe(n.selfSignedInChain)} is not trusted`,
      );
    }
    if (!n.leafIssuerSeen) {
      return fail(
        AlertDescription.unknown_ca,
        "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
        `unable to verify the first certificate: issuer "${leaf.issuer.toString()}" not found`,
      );
    }
    return fail(
      AlertDescription.unknown_ca,
      "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
      "unable to get local issuer certificate",
    );
  }

  /**
   * Depth-first path building from `path`'s last certificate towards a trust anchor. Calls `accept`
   * for each complete path; stops when it returns true. Bounded by maxDepth and MAX_SIGNATURE_CHECKS.
   */
  private search(
    path: Certificate[],
    pool: readonly Certificate[],
    notes: SearchNotes,
    accept: (p: Certificate[]) => boolean,
  ): boolean {
    const cur = path[path.length - 1]!;
    const anchor = this.anchorFor(cur);
    if (anchor) {
      if (path.length === 1) notes.leafIssuerSeen = true;
      return accept([...path.slice(0, -1), anchor]);
    }
    if (path.length >= this.maxDepth) {
      notes.tooLong = true;
      return false;
    }
    const inPath = (c: Certificate): boolean =>
      path.some((p) => bytesEqual(p.der, c.der) || bytesEqual(p.spki, c.spki));
    const candidates = [
      ...(this.rootsBySubject.get(cur.issuer.key) ?? []).map((c) => ({ c, root: true })),
      ...pool.filter((c) => c.subject.equals(cur.issuer)).map((c) => ({ c, root: false })),
    ].filter(({ c }) => !inPath(c) && keyIdCompatible(cur, c));
    // AKI/SKI match first, then trust-store entries
    candidates.sort((a, b) => rank(cur, b.c, b.root) - rank(cur, a.c, a.root));
    if (candidates.length > 0 && path.length === 1) notes.leafIssuerSeen = true;
    if (candidates.length === 0 && cur.selfIssued && path.length > 1) notes.selfSignedInChain ??= cur;
    for (const { c, root } of candidates) {
      if (notes.signatureChecks >= MAX_SIGNATURE_CHECKS) return false;
      if (!this.checkSignature(cur, c, notes)) continue;
      const next = [...path, c];
      if (root) {
        if (accept(next)) return true;
      } else if (this.search(next, pool, notes, accept)) {
        return true;
      }
    }
    return false;
  }

  private publicKey(c: Certificate): PublicKey {
    const cached = this.keyCache.get(c);
    if (cached) return cached;
    let k: PublicKey;
    try {
      k = this.crypto.importPublicKey(c.spki);
    } catch (e) {
      throw fail(
        AlertDescription.unsupported_certificate,
        "UNSUPPORTED_PUBLIC_KEY_ALGORITHM",
        `unsupported public key in ${describe(c)}: ${e instanceof Error ? e.message : String(e)}`,
      );
    }
    this.keyCache.set(c, k);
    return k;
  }

  /** Verifies `child`'s signature with `issuer`'s key; records failures in `notes`. */
  private checkSignature(child: Certificate, issuer: Certificate, notes: SearchNotes): boolean {
    notes.signatureChecks++;
    const alg = child.signatureAlgorithm;
    let scheme = alg.scheme;
    if (
      scheme === undefined ||
      scheme === SignatureScheme.rsa_pkcs1_sha1 ||
      scheme === SignatureScheme.ecdsa_sha1
    ) {
      notes.algFailure ??= fail(
        AlertDescription.unsupported_certificate,
        "UNSUPPORTED_SIGNATURE_ALGORITHM",
        `${scheme === undefined ? "unsupported" : "weak (SHA-1)"} signature algorithm ${alg.oid} on ${describe(child)}`,
      );
      return false;
    }
    let key: PublicKey;
    try {
      key = this.publicKey(issuer);
    } catch (e) {
      if (e instanceof TLSError) notes.algFailure ??= e;
      return false;
    }
    if (alg.pss && key.type === "rsa-pss") scheme = (scheme + 5) as SignatureScheme; // rsae_* -> pss_*
    let ok = false;
    try {
      ok = this.crypto.verify(scheme, key, child.tbs, child.signature);
    } catch {
      ok = false;
    }
    if (!ok) {
      notes.sigFailure ??= fail(
        AlertDescription.bad_certificate,
        "CERT_SIGNATURE_FAILURE",
        `certificate signature failure: ${describe(child)} is not signed by ${describe(issuer)}`,
      );
    }
    return ok;
  }

  /** RFC 5280 §6.1 checks on a complete path (leaf first, anchor last). Throws the first failure. */
  private validatePath(path: Certificate[], ctx: VerifyContext, now: Date): void {
    const leaf = path[0]!;
    // key sizes and critical extensions on every certificate
    for (const c of path) {
      const k = this.publicKey(c);
      if ((k.type === "rsa" || k.type === "rsa-pss") && k.bits < MIN_RSA_BITS) {
        throw fail(
          AlertDescription.bad_certificate,
          "CERT_KEY_TOO_SMALL",
          `${k.bits}-bit RSA key in ${describe(c)} (at least ${MIN_RSA_BITS} required)`,
        );
      }
      for (const e of c.extensions) {
        if (e.critical && !KNOWN_EXTENSIONS.has(e.oid)) {
          throw fail(
            AlertDescription.unsupported_certificate,
            "UNHANDLED_CRITICAL_EXTENSION",
            `unhandled critical extension ${e.oid} in ${describe(c)}`,
          );
        }
      }
    }
    // validity, from the leaf up
    for (const c of path) {
      if (now.getTime() < c.notBefore.getTime()) {
        throw fail(
          AlertDescription.certificate_expired,
          "CERT_NOT_YET_VALID",
          `certificate ${describe(c)} is not yet valid (notBefore ${c.notBefore.toISOString()})`,
        );
      }
      if (now.getTime() > c.notAfter.getTime()) {
        throw fail(
          AlertDescription.certificate_expired,
          "CERT_HAS_EXPIRED",
          `certificate ${describe(c)} has expired (notAfter ${c.notAfter.toISOString()})`,
        );
      }
    }
    // issuers: CA, keyCertSign, pathLen, EKU
    const purposeOid = ctx.purpose === "serverAuth" ? OID.serverAuth : OID.clientAuth;
    let intermediatesBelow = 0;
    for (let i = 1; i < path.length; i++) {
      const ca = path[i]!;
      const isAnchor = i === path.length - 1;
      const bc = ca.basicConstraints;
      // a v1 trust anchor without extensions is accepted as a CA (it is trusted by configuration)
      const legacyAnchor = isAnchor && ca.version === 1;
      if (!legacyAnchor && !bc?.ca) {
        throw fail(AlertDescription.bad_certificate, "INVALID_CA", `${describe(ca)} is not a CA certificate`);
      }
      if (ca.keyUsage && !ca.keyUsage.has("keyCertSign")) {
        throw fail(
          AlertDescription.bad_certificate,
          "INVALID_CA",
          `${describe(ca)} lacks keyUsage keyCertSign`,
        );
      }
      if (bc?.pathLen !== undefined && intermediatesBelow > bc.pathLen) {
        throw fail(
          AlertDescription.bad_certificate,
          "PATH_LENGTH_EXCEEDED",
          `path length constraint ${bc.pathLen} of ${describe(ca)} exceeded (${intermediatesBelow} intermediates below it)`,
        );
      }
      if (
        ca.extKeyUsage &&
        !ca.extKeyUsage.includes(purposeOid) &&
        !ca.extKeyUsage.includes(OID.anyExtendedKeyUsage)
      ) {
        throw fail(
          AlertDescription.unsupported_certificate,
          "INVALID_PURPOSE",
          `${describe(ca)} is not allowed to issue ${ctx.purpose} certificates (extKeyUsage)`,
        );
      }
      if (!ca.selfIssued) intermediatesBelow++;
    }
    // leaf purpose
    const eku = leaf.extKeyUsage;
    if (eku && !eku.includes(purposeOid) && !eku.includes(OID.anyExtendedKeyUsage)) {
      throw fail(
        AlertDescription.unsupported_certificate,
        "INVALID_PURPOSE",
        `certificate ${describe(leaf)} is not valid for ${ctx.purpose} (extKeyUsage ${eku.join(", ")})`,
      );
    }
    const ku = leaf.keyUsage;
    if (ku && !ku.has("digitalSignature") && !ku.has("keyEncipherment")) {
      throw fail(
        AlertDescription.unsupported_certificate,
        "INVALID_PURPOSE",
        `certificate ${describe(leaf)} keyUsage allows neither digitalSignature nor keyEncipherment`,
      );
    }
    // name constraints of every CA, applied to the leaf
    for (let i = 1; i < path.length; i++) {
      const nc = path[i]!.nameConstraints;
      if (nc) checkNameConstraints(leaf, path[i]!, nc.permitted, nc.excluded);
    }
  }
}

function dedupe(certs: Certificate[]): Certificate[] {
  const out: Certificate[] = [];
  for (const c of certs) if (!out.some((o) => bytesEqual(o.der, c.der))) out.push(c);
  return out;
}

function keyIdCompatible(child: Certificate, issuer: Certificate): boolean {
  const aki = child.authorityKeyId?.keyId;
  const ski = issuer.subjectKeyId;
  return !aki || !ski || bytesEqual(aki, ski);
}

function rank(child: Certificate, issuer: Certificate, root: boolean): number {
  const aki = child.authorityKeyId?.keyId;
  const ski = issuer.subjectKeyId;
  return (aki && ski && bytesEqual(aki, ski) ? 2 : 0) + (root ? 1 : 0);
}

// ---- name constraints (RFC 5280 §4.2.1.10), DNS / IP / directoryName ---------------------------

/** dNSName constraint: "example.com" covers it and its subdomains; ".example.com" only subdomains. */
function dnsWithin(name: string, constraint: string): boolean {
  let c = constraint.toLowerCase();
  if (c === "") return true;
  if (c.startsWith(".")) return name.endsWith(c);
  if (c.endsWith(".")) c = c.slice(0, -1);
  return name === c || name.endsWith(`.${c}`);
}

/** Whether a SAN (maybe a wildcard) could name a host inside the constraint's subtree. */
function dnsMayOverlap(san: string, constraint: string): boolean {
  if (dnsWithin(san, constraint)) return true;
  if (!san.startsWith("*.")) return false;
  const base = san.slice(2);
  // "*.example.com" can match "a.example.com": overlap with a constraint exactly one label below base
  const c = constraint.toLowerCase().replace(/^\./, "");
  return c.endsWith(`.${base}`) && c.split(".").length === base.split(".").length + 1;
}

function ipWithin(ip: Uint8Array, s: IpSubnet): boolean {
  if (ip.length !== s.address.length) return false;
  for (let i = 0; i < ip.length; i++)
    if ((ip[i]! & s.mask[i]!) !== (s.address[i]! & s.mask[i]!)) return false;
  return true;
}

function dnPrefix(prefix: readonly string[], name: readonly string[]): boolean {
  return prefix.length <= name.length && prefix.every((k, i) => name[i] === k);
}

function checkNameConstraints(
  leaf: Certificate,
  ca: Certificate,
  permitted: GeneralSubtrees | undefined,
  excluded: GeneralSubtrees | undefined,
): void {
  const san = leaf.subjectAltName;
  const dns = (san?.dns ?? []).map((d) => d.toLowerCase().replace(/\.$/, ""));
  const ips = san?.ipBytes ?? [];
  const violation = (code: "PERMITTED_SUBTREE_VIOLATION" | "EXCLUDED_VIOLATION", what: string): TLSError =>
    fail(
      AlertDescription.bad_certificate,
      code,
      `name constraints of ${describe(ca)} ${code === "EXCLUDED_VIOLATION" ? "exclude" : "do not permit"} ${what}`,
    );
  for (const t of [permitted, excluded]) {
    if (!t) continue;
    const unsupported =
      t.other > 0 ||
      (t.email.length > 0 && (san?.email.length ?? 0) > 0) ||
      (t.uri.length > 0 && (san?.uri.length ?? 0) > 0);
    if (unsupported) {
      throw fail(
        AlertDescription.bad_certificate,
        "UNSUPPORTED_CONSTRAINT_TYPE",
        `unsupported name constraint type in ${describe(ca)}`,
      );
    }
  }
  if (excluded) {
    for (const d of dns) {
      const c = excluded.dns.find((x) => dnsMayOverlap(d, x));
      if (c !== undefined) throw violation("EXCLUDED_VIOLATION", `DNS:${d} (excluded ${c})`);
    }
    for (const ip of ips)
      if (excluded.ip.some((s) => ipWithin(ip, s))) throw violation("EXCLUDED_VIOLATION", "an IP SAN");
    if (!leaf.subject.isEmpty && excluded.dirNames.some((p) => dnPrefix(p.rdnKeys, leaf.subject.rdnKeys))) {
      throw violation("EXCLUDED_VIOLATION", `subject ${leaf.subject.toString()}`);
    }
  }
  if (permitted) {
    if (permitted.dns.length > 0) {
      for (const d of dns) {
        // a wildcard "*.b" is permitted only when every name it can match is: dnsWithin("*.b", x) says so
        if (!permitted.dns.some((x) => dnsWithin(d, x))) {
          throw violation("PERMITTED_SUBTREE_VIOLATION", `DNS:${d}`);
        }
      }
    }
    if (permitted.ip.length > 0) {
      for (const ip of ips) {
        if (!permitted.ip.some((s) => ipWithin(ip, s)))
          throw violation("PERMITTED_SUBTREE_VIOLATION", "an IP SAN");
      }
    }
    if (permitted.dirNames.length > 0 && !leaf.subject.isEmpty) {
      if (!permitted.dirNames.some((p) => dnPrefix(p.rdnKeys, leaf.subject.rdnKeys))) {
        throw violation("PERMITTED_SUBTREE_VIOLATION", `subject ${leaf.subject.toString()}`);
      }
    }
  }
}
