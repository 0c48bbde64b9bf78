/**
 * Where a server keeps sessions (TLS 1.2 session ids) and single-use ticket records, and where a
 * fleet shares them. Methods may answer synchronously or with a Promise (a network store); the
 * handshake waits for a Promise without blocking other connections. A store that fails (throws or
 * rejects) never fails the handshake: the server falls back to a full handshake and reports the
 * error through `onError`.
 */
export type MaybePromise<T> = T | Promise<T>;

export interface SessionStore {
  get(id: Uint8Array): MaybePromise<Uint8Array | undefined>;
  set(id: Uint8Array, value: Uint8Array, ttlSeconds: number): MaybePromise<void>;
  delete(id: Uint8Array): MaybePromise<void>;
  /**
   * Marks `id` used; true the first time, false if it was already used. Makes tickets single-use
   * (replay protection for 0-RTT; `singleUseTickets` on the server).
   */
  markUsed(id: Uint8Array, ttlSeconds: number): MaybePromise<boolean>;
}

function key(id: Uint8Array): string {
  return Buffer.from(id.buffer, id.byteOffset, id.byteLength).toString("base64");
}

/** The default store: an in-memory LRU with a size bound and per-entry expiry. */
export class MemorySessionStore implements SessionStore {
  private readonly entries = new Map<string, { value: Uint8Array; expires: number }>();
  private readonly used = new Map<string, number>();

  constructor(readonly maxEntries = 10_000) {}

  get(id: Uint8Array): Uint8Array | undefined {
    const k = key(id);
    const e = this.entries.get(k);
    if (!e) return undefined;
    if (e.expires <= Date.now()) {
      this.entries.delete(k);
      return undefined;
    }
    // Refresh its place in the LRU order.
    this.entries.delete(k);
    this.entries.set(k, e);
    return e.value;
  }

  set(id: Uint8Array, value: Uint8Array, ttlSeconds: number): void {
    const k = key(id);
    this.entries.delete(k);
    this.entries.set(k, { value, expires: Date.now() + ttlSeconds * 1000 });
    while (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
  }

  delete(id: Uint8Array): void {
    this.entries.delete(key(id));
  }

  markUsed(id: Uint8Array, ttlSeconds: number): boolean {
    const k = key(id);
    const now = Date.now();
    const exp = this.used.get(k);
    if (exp !== undefined && exp > now) return false;
    this.used.set(k, now + ttlSeconds * 1000);
    while (this.used.size > this.maxEntries) this.used.delete(this.used.keys().next().value!);
    return true;
  }

  get size(): number {
    return this.entries.size;
  }
}
