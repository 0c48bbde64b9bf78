/** Runs sslscan 2.x against 127.0.0.1:PORT and reads its XML report (plus the text, for fallback SCSV). */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { spawnPeer } from "../cli/peers.js";

export interface SslscanReport {
  /** "SSLv2", "SSLv3", "TLSv1.0" ... "TLSv1.3" -> offered */
  protocols: Map<string, boolean>;
  ciphers: { version: string; name: string; status: string; strength: string; bits: number }[];
  groups: { version: string; name: string; bits: number }[];
  renegotiation: { supported: boolean; secure: boolean } | null;
  /** "TLSv1.3" -> vulnerable */
  heartbleed: Map<string, boolean>;
  /** the text report's TLS Fallback SCSV line */
  fallback: string;
  text: string;
  xml: string;
}

function attrs(tag: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of tag.matchAll(/(\w[\w-]*)="([^"]*)"/g)) out[m[1]!] = m[2]!;
  return out;
}

function tags(xml: string, name: string): Record<string, string>[] {
  return [...xml.matchAll(new RegExp(`<${name}\\s[^>]*>`, "g"))].map((m) => attrs(m[0]));
}

export function parseSslscan(xml: string, text: string): SslscanReport {
  const protocols = new Map<string, boolean>();
  for (const p of tags(xml, "protocol")) {
    const name = p.type === "ssl" ? `SSLv${p.version}` : `TLSv${p.version}`;
    protocols.set(name, p.enabled === "1");
  }
  const reneg = tags(xml, "renegotiation")[0];
  const heartbleed = new Map<string, boolean>();
  for (const h of tags(xml, "heartbleed")) heartbleed.set(h.sslversion ?? "?", h.vulnerable === "1");
  return {
    protocols,
    ciphers: tags(xml, "cipher").map((c) => ({
      version: c.sslversion ?? "?",
      name: c.cipher ?? "?",
      status: c.status ?? "?",
      strength: c.strength ?? "?",
      bits: Number(c.bits),
    })),
    groups: tags(xml, "group").map((g) => ({
      version: g.sslversion ?? "?",
      name: g.name ?? "?",
      bits: Number(g.bits),
    })),
    renegotiation: reneg ? { supported: reneg.supported === "1", secure: reneg.secure === "1" } : null,
    heartbleed,
    fallback: /TLS Fallback SCSV:\s*\n(.*)/.exec(text)?.[1]?.trim() ?? "",
    text,
    xml,
  };
}

/** One sslscan run (about 1 s); `dir` receives the XML file. */
export async function runSslscan(port: number, dir: string, tag: string): Promise<SslscanReport> {
  const xmlFile = join(dir, `sslscan-${tag}.xml`);
  const p = spawnPeer("sslscan", ["--no-colour", `--xml=${xmlFile}`, `127.0.0.1:${port}`]);
  p.end();
  const code = await p.waitExit(120_000);
  if (code !== 0) throw new Error(`sslscan exited ${code}\n${p.transcript()}`);
  return parseSslscan(readFileSync(xmlFile, "utf8"), p.stdout);
}
