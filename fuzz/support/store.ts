import { MemorySessionStore, type SessionStore } from "../../src/session/store.js";

/** A session store that forgets everything on reset(): each fuzz iteration starts from nothing. */
export class ResettableStore implements SessionStore {
  private inner = new MemorySessionStore();
  reset(): void {
    this.inner = new MemorySessionStore();
  }
  get(id: Uint8Array) {
    return this.inner.get(id);
  }
  set(id: Uint8Array, value: Uint8Array, ttlSeconds: number) {
    return this.inner.set(id, value, ttlSeconds);
  }
  delete(id: Uint8Array) {
    return this.inner.delete(id);
  }
  markUsed(id: Uint8Array, ttlSeconds: number) {
    return this.inner.markUsed(id, ttlSeconds);
  }
}
