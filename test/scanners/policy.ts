/**
 * What a TypeTLS server may offer by default, as seen by a scanner: TLS 1.2 and 1.3 only, and only
 * forward-secret AEAD suites. Suite names come in OpenSSL spelling (sslscan, testssl's lists) or
 * IANA spelling (testssl's cipher_x* findings); both are accepted.
 */

/** The TLS 1.3 suites (the same name in both spellings). */
const TLS13 = /^TLS_(AES_128_GCM_SHA256|AES_256_GCM_SHA384|CHACHA20_POLY1305_SHA256)$/;
/** (EC)DHE key exchange, ECDSA or RSA signatures, AES-GCM or ChaCha20-Poly1305 (OpenSSL names). */
const TLS12_OPENSSL = /^(ECDHE|DHE)-(ECDSA|RSA)-(AES128-GCM-SHA256|AES256-GCM-SHA384|CHACHA20-POLY1305)$/;
const TLS12_IANA =
  /^TLS_(ECDHE|DHE)_(ECDSA|RSA)_WITH_(AES_128_GCM_SHA256|AES_256_GCM_SHA384|CHACHA20_POLY1305_SHA256)$/;

/** Why a suite name is weak, or null when it is one of the strong suites above. */
export function weakSuiteReason(name: string): string | null {
  if (TLS13.test(name) || TLS12_OPENSSL.test(name) || TLS12_IANA.test(name)) return null;
  const why: string[] = [];
  if (/CBC|-SHA$|_SHA$|-SHA256$|-SHA384$/.test(name) && !/GCM|POLY1305|CCM/.test(name)) why.push("CBC");
  if (/RC4/.test(name)) why.push("RC4");
  if (/3DES|DES-CBC3|DES/.test(name)) why.push("DES/3DES");
  if (/NULL/.test(name)) why.push("NULL");
  if (/EXP/.test(name)) why.push("EXPORT");
  if (/anon|ADH|AECDH/.test(name)) why.push("anonymous");
  if (/^(TLS_RSA_WITH|AES128-|AES256-|RSA-)/.test(name)) why.push("RSA key transport");
  return why.length > 0 ? why.join(", ") : "not in the strong AEAD + forward-secrecy set";
}
