import type { Certificate } from "./certificate.js";

/**
 * Server identity checks (RFC 6125 / RFC 9525 as profiled in ECOSYSTEM §4.4): DNS names against
 * dNSName SANs, IP literals against iPAddress SANs only; no CN fallback.
 */

/** Parses a dotted-quad IPv4 address (no leading zeros, four parts). */
export function parseIPv4(s: string): Uint8Array | undefined {
  const parts = s.split(".");
  if (parts.length !== 4) return undefined;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const p = parts[i]!;
    if (!/^(0|[1-9][0-9]{0,2})$/.test(p)) return undefined;
    const n = Number(p);
    if (n > 255) return undefined;
    out[i] = n;
  }
  return out;
}

/** Parses an IPv6 address (RFC 4291 §2.2 text forms, optional trailing dotted quad; no zone id). */
export function parseIPv6(s: string): Uint8Array | undefined {
  if (!/^[0-9a-fA-F:.]+$/.test(s) || s.length > 45) return undefined;
  let head = s;
  let v4: Uint8Array | undefined;
  const lastColon = s.lastIndexOf(":");
  if (s.indexOf(".") !== -1) {
    v4 = parseIPv4(s.slice(lastColon + 1));
    if (!v4) return undefined;
    head = `${s.slice(0, lastColon + 1)}0:0`;
  }
  const dbl = head.split("::");
  if (dbl.length > 2) return undefined;
  const group = (g: string): number[] | undefined => {
    if (g === "") return [];
    const out: number[] = [];
    for (const h of g.split(":")) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(h)) return undefined;
      out.push(Number.parseInt(h, 16));
    }
    return out;
  };
  const left = group(dbl[0]!);
  const right = dbl.length === 2 ? group(dbl[1]!) : [];
  if (!left || !right) return undefined;
  const total = left.length + right.length;
  if (dbl.length === 2 ? total > 7 : total !== 8) return undefined;
  const words = [...left, ...new Array<number>(8 - total).fill(0), ...right];
  const out = new Uint8Array(16);
  words.forEach((w, i) => {
    out[2 * i] = w >> 8;
    out[2 * i + 1] = w & 0xff;
  });
  if (v4) out.set(v4, 12);
  return out;
}

/** Parses an IP literal (IPv4, IPv6, or bracketed IPv6). */
export function parseIp(s: string): Uint8Array | undefined {
  if (s.startsWith("[") && s.endsWith("]")) return parseIPv6(s.slice(1, -1));
  return s.includes(":") ? parseIPv6(s) : parseIPv4(s);
}

/** Textual form: dotted quad for 4 bytes, RFC 5952 for 16 bytes, hex otherwise. */
export function formatIp(b: Uint8Array): string {
  if (b.length === 4) return Array.from(b).join(".");
  if (b.length !== 16) return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
  const words: number[] = [];
  for (let i = 0; i < 16; i += 2) words.push((b[i]! << 8) | b[i + 1]!);
  // longest run (>= 2) of zero words, first one on ties
  let best = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (words[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hexw = (ws: number[]): string => ws.map((w) => w.toString(16)).join(":");
  if (best < 0) return hexw(words);
  return `${hexw(words.slice(0, best))}::${hexw(words.slice(best + bestLen))}`;
}

const LABEL = /^[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?$/;

/**
 * Normalises a reference DNS name: lowercase, one trailing dot removed. Returns undefined when
 * it is not a valid name (empty, empty labels such as a leading dot, bad characters, too long).
 */
export function normalizeDnsName(name: string): string | undefined {
  let n = name.toLowerCase();
  if (n.endsWith(".")) n = n.slice(0, -1);
  if (n.length === 0 || n.length > 253) return undefined;
  const labels = n.split(".");
  for (const l of labels) if (!LABEL.test(l)) return undefined;
  // an all-numeric last label is an IP-like string, never a host name
  if (/^[0-9]+$/.test(labels[labels.length - 1]!)) return undefined;
  return n;
}

/** Matches a normalised reference name against one dNSName SAN value. */
export function matchDnsPattern(host: string, pattern: string): boolean {
  let p = pattern.toLowerCase();
  if (p.endsWith(".")) p = p.slice(0, -1);
  if (p.length === 0) return false;
  if (!p.includes("*")) return normalizeDnsName(p) === host;
  // wildcard: only the entire left-most label, at least two labels after it, no partial wildcards
  if (!p.startsWith("*.")) return false;
  const base = p.slice(2);
  if (base.includes("*") || normalizeDnsName(base) !== base || base.split(".").length < 2) return false;
  const dot = host.indexOf(".");
  if (dot <= 0) return false;
  return host.slice(dot + 1) === base;
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** True when `hostname` (a DNS name or an IP literal) is one of the certificate's SAN identities. */
export function checkHostname(cert: Certificate, hostname: string): boolean {
  const san = cert.subjectAltName;
  if (!san) return false;
  const ip = parseIp(hostname);
  if (ip) return san.ipBytes.some((b) => bytesEqual(b, ip));
  const host = normalizeDnsName(hostname);
  if (!host) return false;
  return san.dns.some((p) => matchDnsPattern(host, p));
}

/** Node's ERR_TLS_CERT_ALTNAME_INVALID reason text. */
export function hostnameMismatchReason(cert: Certificate, hostname: string): string {
  const san = cert.subjectAltName;
  const alt = [
    ...(san?.dns ?? []).map((d) => `DNS:${d}`),
    ...(san?.ip ?? []).map((i) => `IP Address:${i}`),
    ...(san?.email ?? []).map((e) => `email:${e}`),
    ...(san?.uri ?? []).map((u) => `URI:${u}`),
  ].join(", ");
  if (parseIp(hostname)) return `IP: ${hostname} is not in the cert's list: ${(san?.ip ?? []).join(", ")}`;
  if (!san) return `Host: ${hostname}. is not cert's CN: ${cert.subject.get("CN")[0] ?? ""}`;
  return `Host: ${hostname}. is not in the cert's altnames: ${alt}`;
}
