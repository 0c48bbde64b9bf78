import { AlertDescription } from "../../alert.js";
import { ExtensionType } from "../../constants.js";
import { TLSError } from "../../errors.js";
import { fromUtf8, utf8 } from "../../wire/bytes.js";
import { decodeError, Reader } from "../../wire/reader.js";
import { encode, type Writer } from "../../wire/writer.js";

/**
 * Extensions (RFC 5246 §7.4.1.4, RFC 8446 §4.2): a list of (type, opaque data). Kept as raw bytes in
 * the hello messages, in the order received; the typed codecs below read and write each body.
 * Unknown extensions stay as bytes and are ignored where the RFC says so.
 */
export interface Extension {
  type: number;
  data: Uint8Array;
}

/**
 * Reads an extensions block. In the hellos of TLS 1.2 the block may be absent entirely (RFC 5246
 * §7.4.1.2: `optional`); everywhere else its length field is required.
 */
export function decodeExtensions(r: Reader, optional = true): Extension[] {
  const out: Extension[] = [];
  if (optional && r.atEnd()) return out;
  const list = r.sub(2);
  const seen = new Set<number>();
  while (!list.atEnd()) {
    const type = list.u16();
    const data = list.vec16();
    // "There MUST NOT be more than one extension of the same type."
    if (seen.has(type)) throw decodeError(`duplicate extension ${extensionName(type)}`);
    seen.add(type);
    out.push({ type, data });
  }
  return out;
}

export function writeExtensions(w: Writer, exts: readonly Extension[]): void {
  w.vec(2, (w) => {
    for (const e of exts) w.u16(e.type).vec16(e.data);
  });
}

export function findExtension(exts: readonly Extension[], type: ExtensionType): Uint8Array | undefined {
  return exts.find((e) => e.type === type)?.data;
}

export function extensionName(t: number): string {
  return ExtensionType[t] ?? `extension_${t}`;
}

/** Decodes an extension body with `fn`, requiring that it consumes the body exactly. */
function body<T>(data: Uint8Array, what: string, fn: (r: Reader) => T): T {
  const r = new Reader(data);
  const v = fn(r);
  r.end(what);
  return v;
}

// ---- server_name (RFC 6066 §3) ----------------------------------------------------------------

export const serverName = {
  encode(host: string): Uint8Array {
    return encode((w) => w.vec(2, (w) => w.u8(0).vec16(utf8.encode(host))));
  },
  /** Returns the host_name, or undefined for a server's empty acknowledgement. */
  decode(data: Uint8Array): string | undefined {
    if (data.length === 0) return undefined;
    return body(data, "server_name", (r) => {
      const list = r.sub(2, 1);
      let host: string | undefined;
      while (!list.atEnd()) {
        const type = list.u8();
        const name = list.vec16(1);
        if (type !== 0) continue; // unknown name types are skipped
        if (host !== undefined) throw decodeError("more than one host_name in server_name");
        host = fromUtf8.decode(name);
        // RFC 6066: the HostName is ASCII without a trailing dot; no NUL or other controls.
        if (!/^[\x21-\x7e]+$/.test(host) || host.endsWith(".")) {
          throw TLSError.local(AlertDescription.illegal_parameter, "malformed host_name in server_name");
        }
      }
      return host;
    });
  },
};

// ---- supported_groups (RFC 8422 §5.1.1, RFC 8446 §4.2.7) ---------------------------------------

export const supportedGroups = {
  encode: (groups: readonly number[]): Uint8Array => encode((w) => w.u16List(2, groups)),
  decode: (data: Uint8Array): number[] => body(data, "supported_groups", (r) => r.u16List(2, 2)),
};

// ---- ec_point_formats (RFC 8422 §5.1.2) --------------------------------------------------------

export const ecPointFormats = {
  /** Only `uncompressed` (0). */
  encode: (): Uint8Array => Uint8Array.of(1, 0),
  decode: (data: Uint8Array): number[] =>
    body(data, "ec_point_formats", (r) => {
      return Array.from(r.vec8(1));
    }),
};

// ---- signature_algorithms (RFC 5246 §7.4.1.4.1, RFC 8446 §4.2.3) -------------------------------

export const signatureAlgorithms = {
  encode: (schemes: readonly number[]): Uint8Array => encode((w) => w.u16List(2, schemes)),
  decode: (data: Uint8Array): number[] => body(data, "signature_algorithms", (r) => r.u16List(2, 2)),
};

// ---- application_layer_protocol_negotiation (RFC 7301 §3.1) ------------------------------------

export const alpn = {
  encode(protocols: readonly string[]): Uint8Array {
    return encode((w) =>
      w.vec(2, (w) => {
        for (const p of protocols) w.vec8(utf8.encode(p));
      }),
    );
  },
  decode(data: Uint8Array): string[] {
    return body(data, "application_layer_protocol_negotiation", (r) => {
      const list = r.sub(2, 2);
      const out: string[] = [];
      while (!list.atEnd()) out.push(fromUtf8.decode(list.vec8(1)));
      return out;
    });
  },
};

// ---- extended_master_secret (RFC 7627 §5.1) and other empty extensions -------------------------

export const empty = {
  encode: (): Uint8Array => new Uint8Array(0),
  decode(data: Uint8Array, type: ExtensionType): void {
    if (data.length !== 0) throw decodeError(`${extensionName(type)} must be empty`);
  },
};

// ---- renegotiation_info (RFC 5746 §3.2) --------------------------------------------------------

export const renegotiationInfo = {
  encode: (renegotiatedConnection: Uint8Array): Uint8Array => encode((w) => w.vec8(renegotiatedConnection)),
  decode: (data: Uint8Array): Uint8Array => body(data, "renegotiation_info", (r) => r.vec8()),
};

// ---- supported_versions (RFC 8446 §4.2.1) ------------------------------------------------------

export const supportedVersions = {
  encodeClient: (versions: readonly number[]): Uint8Array => encode((w) => w.u16List(1, versions)),
  decodeClient: (data: Uint8Array): number[] => body(data, "supported_versions", (r) => r.u16List(1, 2)),
  encodeServer: (version: number): Uint8Array => encode((w) => w.u16(version)),
  decodeServer: (data: Uint8Array): number => body(data, "supported_versions", (r) => r.u16()),
};

// ---- key_share (RFC 8446 §4.2.8) --------------------------------------------------------------

/** struct { NamedGroup group; opaque key_exchange<1..2^16-1>; } KeyShareEntry; */
export interface KeyShareEntry {
  group: number;
  keyExchange: Uint8Array;
}

export const keyShare = {
  /** ClientHello: KeyShareEntry client_shares<0..2^16-1>; groups must not repeat. */
  encodeClient: (shares: readonly KeyShareEntry[]): Uint8Array =>
    encode((w) =>
      w.vec(2, (w) => {
        for (const s of shares) w.u16(s.group).vec16(s.keyExchange);
      }),
    ),
  decodeClient(data: Uint8Array): KeyShareEntry[] {
    return body(data, "key_share", (r) => {
      const list = r.sub(2);
      const out: KeyShareEntry[] = [];
      while (!list.atEnd()) {
        const group = list.u16();
        const keyExchange = list.vec16(1);
        if (out.some((s) => s.group === group)) {
          throw TLSError.local(AlertDescription.illegal_parameter, "two key shares for the same group");
        }
        out.push({ group, keyExchange });
      }
      return out;
    });
  },
  /** ServerHello: KeyShareEntry server_share; */
  encodeServer: (s: KeyShareEntry): Uint8Array => encode((w) => w.u16(s.group).vec16(s.keyExchange)),
  decodeServer: (data: Uint8Array): KeyShareEntry =>
    body(data, "key_share", (r) => ({ group: r.u16(), keyExchange: r.vec16(1) })),
  /** HelloRetryRequest: NamedGroup selected_group; */
  encodeRetry: (group: number): Uint8Array => encode((w) => w.u16(group)),
  decodeRetry: (data: Uint8Array): number => body(data, "key_share", (r) => r.u16()),
};

// ---- cookie (RFC 8446 §4.2.2) ------------------------------------------------------------------

export const cookie = {
  encode: (c: Uint8Array): Uint8Array => encode((w) => w.vec16(c)),
  decode: (data: Uint8Array): Uint8Array => body(data, "cookie", (r) => r.vec16(1)),
};

// ---- psk_key_exchange_modes (RFC 8446 §4.2.9) --------------------------------------------------

export const PskKeyExchangeMode = { psk_ke: 0, psk_dhe_ke: 1 } as const;

export const pskKeyExchangeModes = {
  encode: (modes: readonly number[]): Uint8Array => encode((w) => w.vec8(Uint8Array.from(modes))),
  decode: (data: Uint8Array): number[] => body(data, "psk_key_exchange_modes", (r) => Array.from(r.vec8(1))),
};

// ---- pre_shared_key (RFC 8446 §4.2.11) --------------------------------------------------------

/** struct { opaque identity<1..2^16-1>; uint32 obfuscated_ticket_age; } PskIdentity; */
export interface PskIdentity {
  identity: Uint8Array;
  obfuscatedTicketAge: number;
}

export const preSharedKey = {
  /** struct { PskIdentity identities<7..2^16-1>; PskBinderEntry binders<33..2^16-1>; } OfferedPsks; */
  encodeClient: (identities: readonly PskIdentity[], binders: readonly Uint8Array[]): Uint8Array =>
    encode((w) => {
      w.vec(2, (w) => {
        for (const i of identities) w.vec16(i.identity).u32(i.obfuscatedTicketAge >>> 0);
      });
      w.vec(2, (w) => {
        for (const b of binders) w.vec8(b);
      });
    }),
  decodeClient(data: Uint8Array): { identities: PskIdentity[]; binders: Uint8Array[] } {
    return body(data, "pre_shared_key", (r) => {
      const ids = r.sub(2, 7);
      const identities: PskIdentity[] = [];
      while (!ids.atEnd()) identities.push({ identity: ids.vec16(1), obfuscatedTicketAge: ids.u32() });
      const bs = r.sub(2, 33);
      const binders: Uint8Array[] = [];
      while (!bs.atEnd()) binders.push(bs.vec8(32));
      if (binders.length !== identities.length) {
        throw TLSError.local(
          AlertDescription.illegal_parameter,
          "pre_shared_key: as many binders as identities are needed",
        );
      }
      return { identities, binders };
    });
  },
  /** The length of the binders list at the end of the ClientHello (excluded from the binder's transcript). */
  bindersLength: (binders: readonly Uint8Array[]): number =>
    2 + binders.reduce((n, b) => n + 1 + b.length, 0),
  /** ServerHello: uint16 selected_identity; */
  encodeServer: (selected: number): Uint8Array => encode((w) => w.u16(selected)),
  decodeServer: (data: Uint8Array): number => body(data, "pre_shared_key", (r) => r.u16()),
};
