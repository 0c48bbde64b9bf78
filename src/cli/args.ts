/**
 * Argument parsing on node:util parseArgs, plus OpenSSL-style single-dash long options
 * (`-connect host:port`, `-CAfile root.pem`): a pre-pass rewrites the known long names to `--name`
 * before parseArgs sees them, since parseArgs reads `-connect` as the short flags -c -o -n ...
 */
import { type ParseArgsConfig, parseArgs } from "node:util";
import type { VersionName } from "../config.js";

/** A mistake on the command line: the CLI prints it and exits 2. */
export class UsageError extends Error {
  override readonly name = "UsageError";
}

type Options = NonNullable<ParseArgsConfig["options"]>;

/**
 * Rewrites `-name` and `-name=value` to `--name` / `--name=value` when `name` (or its alias) is a
 * long option of `options`; leaves option values, short flags and everything after `--` alone.
 * Aliases map other spellings (OpenSSL's `CAfile`, `accept`) to our names.
 */
export function normalizeArgs(
  argv: readonly string[],
  options: Options,
  aliases: Readonly<Record<string, string>> = {},
): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < argv.length) {
    const tok = argv[i]!;
    i++;
    if (tok === "--") {
      out.push(tok, ...argv.slice(i));
      break;
    }
    const m = /^--?([A-Za-z][\w-]*)(=.*)?$/.exec(tok);
    if (!m || (tok[1] !== "-" && m[1]!.length < 2)) {
      out.push(tok);
      continue;
    }
    const given = m[1]!;
    const name = aliases[given] ?? given;
    const spec = options[name];
    if (!spec) {
      out.push(tok); // parseArgs reports it as unknown
      continue;
    }
    out.push(`--${name}${m[2] ?? ""}`);
    // The next token is this option's value: copy it as it is, even if it starts with '-'.
    if (spec.type === "string" && m[2] === undefined && i < argv.length) {
      const value = argv[i]!;
      i++;
      if (value.startsWith("-")) out[out.length - 1] += `=${value}`;
      else out.push(value);
    }
  }
  return out;
}

type OptionValue<S> = S extends { type: "boolean" }
  ? S extends { multiple: true }
    ? boolean[]
    : boolean
  : S extends { multiple: true }
    ? string[]
    : string;

/** The parsed values of an options table: every option may be absent. */
export type ParsedValues<O> = { [K in keyof O]?: OptionValue<O[K]> };

/** Parses one command's arguments; every parse failure becomes a UsageError. */
export function parseCommand<const O extends Options>(
  argv: readonly string[],
  options: O,
  aliases: Readonly<Record<string, string>> = {},
): { values: ParsedValues<O>; positionals: string[] } {
  const args = normalizeArgs(argv, options, aliases);
  try {
    const r = parseArgs({ args, options, allowPositionals: true, strict: true });
    return { values: r.values as ParsedValues<O>, positionals: r.positionals };
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    const unknown = /^Unknown option '([^']+)'/.exec(message);
    throw new UsageError(unknown ? `unknown option ${unknown[1]}` : message);
  }
}

/** Options shared by the client and the server. */
export const CONNECTION_OPTIONS = {
  help: { type: "boolean", short: "h" },
  "min-version": { type: "string" },
  "max-version": { type: "string" },
  ciphers: { type: "string" },
  groups: { type: "string" },
  alpn: { type: "string" },
  "legacy-rsa-kx": { type: "boolean" },
  "no-middlebox-compat": { type: "boolean" },
  "key-update": { type: "boolean" },
  trace: { type: "boolean" },
  keylog: { type: "string" },
  ca: { type: "string" },
  cert: { type: "string", multiple: true },
  key: { type: "string", multiple: true },
} as const;

/** OpenSSL spellings accepted for our options. */
export const OPENSSL_ALIASES: Readonly<Record<string, string>> = {
  CAfile: "ca",
  keylogfile: "keylog",
  cipher: "ciphers",
  curves: "groups",
  min_protocol: "min-version",
  max_protocol: "max-version",
  no_middlebox: "no-middlebox-compat",
};

/** "1.2", "TLSv1.2", "tls1.2", "tls1_2" -> "TLSv1.2" (the library decides what it supports). */
export function parseVersionArg(option: string, v: string): VersionName {
  const s = v.trim().toLowerCase();
  if (s === "sslv3" || s === "ssl3" || s === "3.0") return "SSLv3";
  const m = /^(?:tls\s*v?)?1[._]([0-3])$/.exec(s);
  if (!m) throw new UsageError(`${option}: unknown TLS version "${v}" (use 1.2, 1.3, TLSv1.2 or TLSv1.3)`);
  switch (m[1]) {
    case "0":
      return "TLSv1";
    case "1":
      return "TLSv1.1";
    case "2":
      return "TLSv1.2";
    default:
      return "TLSv1.3";
  }
}

/** "a,b:c" -> ["a", "b", "c"]. */
export function splitList(v: string): string[] {
  return v
    .split(/[,:]/)
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

/** Splits HOST:PORT, [v6]:PORT or a bare host (port `defaultPort`). */
export function parseHostPort(s: string, defaultPort?: number): { host: string; port: number } {
  let host: string;
  let portText: string | undefined;
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(s);
  if (v6) {
    host = v6[1]!;
    portText = v6[2];
  } else {
    const i = s.lastIndexOf(":");
    if (i >= 0 && s.indexOf(":") !== i) throw new UsageError(`write an IPv6 address as [${s}]:PORT`);
    host = i >= 0 ? s.slice(0, i) : s;
    portText = i >= 0 ? s.slice(i + 1) : undefined;
  }
  if (host.length === 0) throw new UsageError(`no host in "${s}"`);
  if (portText === undefined) {
    if (defaultPort === undefined) throw new UsageError(`no port in "${s}" (use HOST:PORT)`);
    return { host, port: defaultPort };
  }
  return { host, port: parsePort(portText, "port") };
}

export function parsePort(v: string, what: string): number {
  if (!/^\d{1,5}$/.test(v) || Number(v) > 65535) throw new UsageError(`${what}: invalid port "${v}"`);
  return Number(v);
}
