/**
 * Helpers for the "no secret in errors or logs" tests: a crypto provider that records every secret
 * passing through it, the secrets of NSS key log lines and private keys, and a search for any of
 * them (hex, base64, decimal byte lists) in collected text.
 */
import assert from "node:assert/strict";
import { createPrivateKey } from "node:crypto";
import type { CryptoProvider, KeyShare } from "../../src/crypto/provider.js";

export interface SpyOptions {
  /** Flip a bit of the output of every HMAC whose input contains this ASCII text. */
  corruptHmacWith?: string;
}

/**
 * Wraps a provider and records copies of what is secret: HMAC keys (the PRF's master secret, every
 * HKDF PRK and finished key), AEAD keys (record and ticket keys), (EC)DH shared secrets and RSA
 * pre-master secrets. Copies, because the library zeroes some of them after use.
 */
export function spyCrypto(base: CryptoProvider, opts: SpyOptions = {}) {
  const secrets: Uint8Array[] = [];
  const keep = (b: Uint8Array): Uint8Array => {
    secrets.push(b.slice());
    return b;
  };
  const marker = opts.corruptHmacWith ? Buffer.from(opts.corruptHmacWith, "latin1") : undefined;
  const provider: CryptoProvider = {
    ...base,
    hmac(alg, key, data) {
      keep(key);
      const out = base.hmac(alg, key, data);
      if (marker && Buffer.from(data).includes(marker)) out[0]! ^= 1;
      return out;
    },
    aead(alg, key) {
      keep(key);
      return base.aead(alg, key);
    },
    keyShare(group): KeyShare {
      const share = base.keyShare(group);
      return { group: share.group, publicKey: share.publicKey, agree: (peer) => keep(share.agree(peer)) };
    },
    respond(group, peerShare) {
      const r = base.respond(group, peerShare);
      keep(r.secret);
      return r;
    },
    rsaEncryptPkcs1(key, data) {
      keep(data);
      return base.rsaEncryptPkcs1(key, data);
    },
  };
  return { provider, secrets };
}

/** The secret of each NSS key log line ("LABEL <client_random> <secret>"); the client random is public. */
export function keylogSecrets(lines: readonly string[]): Uint8Array[] {
  return lines.map((l) => {
    const [label, random, secret] = l.split(" ");
    assert.ok(label && random && secret && /^[0-9a-f]+$/.test(secret), `key log line: ${l}`);
    return Buffer.from(secret, "hex");
  });
}

/**
 * A private key's secret bytes: its private JWK components (d; for RSA also p, q, dp, dq, qi).
 * A leaked PEM or DER contains them (the base64 search below does not depend on alignment); the
 * DER as a whole would not do, since its algorithm identifiers are also in the certificate.
 */
export function privateKeySecrets(pem: string): Uint8Array[] {
  const jwk = createPrivateKey(pem).export({ format: "jwk" }) as Record<string, unknown>;
  const out: Uint8Array[] = [];
  for (const f of ["d", "p", "q", "dp", "dq", "qi"]) {
    const v = jwk[f];
    if (typeof v === "string") out.push(Buffer.from(v, "base64url"));
  }
  assert.ok(out.length > 0, "a private component");
  return out;
}

/** The forms a leaked secret would take: aligned pieces, so a partial leak is found too. */
function needles(secret: Uint8Array): string[] {
  const out: string[] = [];
  const b = Buffer.from(secret);
  const informative = (x: Buffer): boolean => x.some((v) => v !== x[0]);
  // 8-byte pieces as hex (any leak of 16 or more bytes contains one).
  for (let i = 0; i + 8 <= b.length; i += 8) {
    const piece = b.subarray(i, i + 8);
    if (!informative(piece)) continue;
    out.push(piece.toString("hex"));
    out.push(Array.from(piece).join(","));
  }
  // 12-byte pieces starting at offsets 0, 1 and 2 (then every 12): whatever the secret's offset
  // inside a larger base64-encoded buffer (a PEM), the pieces of one of the three line up with it.
  for (let start = 0; start < 3; start++) {
    for (let i = start; i + 12 <= b.length; i += 12) {
      const piece = b.subarray(i, i + 12);
      if (!informative(piece)) continue;
      out.push(piece.toString("base64"), piece.toString("base64url"));
    }
  }
  return out;
}

/** Every secret shorter than 8 bytes is ignored (nothing to tell it from chance). */
export function assertNoSecret(texts: readonly string[], secrets: readonly Uint8Array[], what: string): void {
  assert.ok(texts.length > 0, `${what}: nothing collected`);
  assert.ok(secrets.length > 0, `${what}: no secrets to look for`);
  const all = texts.join("\n");
  const lower = all.toLowerCase();
  for (const s of secrets) {
    for (const n of needles(s)) {
      const hex = /^[0-9a-f]+$/.test(n);
      const at = hex ? lower.indexOf(n) : all.indexOf(n);
      if (at >= 0) {
        assert.fail(
          `${what}: a secret (${s.length} bytes, piece ${n}) appears in: ${all.slice(Math.max(0, at - 200), at + 100)}`,
        );
      }
    }
  }
}

/** JSON with byte arrays as hex, so that a leaked Uint8Array is found by the hex search. */
export function json(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) => {
    if (x instanceof Uint8Array) return Buffer.from(x).toString("hex");
    if (typeof x === "bigint") return x.toString();
    return x;
  });
}

/** An error as it could end up in a log: message, code, stack, JSON, and the same for each cause. */
export function errorTexts(e: unknown, depth = 0): string[] {
  if (depth > 8 || e === undefined || e === null) return [];
  if (!(e instanceof Error)) return [String(e)];
  const out = [String(e), e.message, e.stack ?? "", json(e), json(Object.entries(e))];
  return [...out, ...errorTexts((e as { cause?: unknown }).cause, depth + 1)];
}
