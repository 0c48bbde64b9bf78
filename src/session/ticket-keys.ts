import { AlertDescription } from "../alert.js";
import type { CryptoProvider } from "../crypto/provider.js";
import { TLSError } from "../errors.js";
import { concat, equalBytes, fromHex, toHex } from "../wire/bytes.js";

/**
 * Session ticket keys (RFC 5077 §4 recommends this structure): a ticket is
 *   key_name[16] || nonce[12] || AES-256-GCM(key, nonce, aad = key_name, sealed state)
 * The current key seals; it and the previous keys open. Rotation makes a new current key and keeps
 * `keep` old ones, so tickets live for about (keep + 1) rotation periods. A fleet shares one ring
 * (a file, or the Redis store), so any server opens any server's tickets.
 */
export interface TicketKey {
  name: Uint8Array;
  key: Uint8Array;
  /** ms since the epoch. */
  createdAt: number;
}

export class TicketKeyRing {
  private keys: TicketKey[];

  constructor(
    private readonly crypto: CryptoProvider,
    keys?: readonly TicketKey[],
    private readonly keep = 2,
  ) {
    this.keys = keys && keys.length > 0 ? [...keys] : [this.fresh()];
  }

  private fresh(): TicketKey {
    return { name: this.crypto.random(16), key: this.crypto.random(32), createdAt: Date.now() };
  }

  /** The current key first. */
  get all(): readonly TicketKey[] {
    return this.keys;
  }

  /** Makes a new current key; the oldest beyond `keep` are dropped (their tickets no longer open). */
  rotate(): void {
    this.keys = [this.fresh(), ...this.keys].slice(0, this.keep + 1);
  }

  /** Replaces the keys (e.g. with the fleet's shared ring). */
  replace(keys: readonly TicketKey[]): void {
    if (keys.length === 0) throw new Error("a ticket key ring needs at least one key");
    this.keys = [...keys];
  }

  seal(plaintext: Uint8Array): Uint8Array {
    const k = this.keys[0]!;
    const nonce = this.crypto.random(12);
    const sealed = this.crypto.aead("aes-256-gcm", k.key).seal(nonce, k.name, plaintext);
    return concat(k.name, nonce, sealed);
  }

  /** The plaintext, or undefined when no key opens the ticket (unknown, rotated out, tampered). */
  open(ticket: Uint8Array): Uint8Array | undefined {
    if (ticket.length < 16 + 12 + 16) return undefined;
    const name = ticket.subarray(0, 16);
    const k = this.keys.find((x) => equalBytes(x.name, name));
    if (!k) return undefined;
    return (
      this.crypto.aead("aes-256-gcm", k.key).open(ticket.subarray(16, 28), name, ticket.subarray(28)) ??
      undefined
    );
  }

  /** JSON for a --ticket-keys file or a shared store: [{name, key, createdAt}] in hex. */
  toJSON(): string {
    return JSON.stringify(
      this.keys.map((k) => ({ name: toHex(k.name), key: toHex(k.key), createdAt: k.createdAt })),
    );
  }

  static parse(json: string): TicketKey[] {
    let raw: unknown;
    try {
      raw = JSON.parse(json);
    } catch {
      throw TLSError.local(AlertDescription.internal_error, "ticket keys: not JSON");
    }
    if (!Array.isArray(raw) || raw.length === 0)
      throw TLSError.local(AlertDescription.internal_error, "ticket keys: expected a non-empty array");
    return raw.map((e: { name?: unknown; key?: unknown; createdAt?: unknown }) => {
      if (typeof e.name !== "string" || typeof e.key !== "string")
        throw TLSError.local(AlertDescription.internal_error, "ticket keys: bad entry");
      const name = fromHex(e.name);
      const key = fromHex(e.key);
      if (name.length !== 16 || key.length !== 32)
        throw TLSError.local(AlertDescription.internal_error, "ticket keys: names are 16 bytes, keys 32");
      return { name, key, createdAt: typeof e.createdAt === "number" ? e.createdAt : Date.now() };
    });
  }
}
