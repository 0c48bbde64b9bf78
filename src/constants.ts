/** Protocol registries (IANA TLS parameters) used across the stack. */

export const ProtocolVersion = {
  SSL3_0: 0x0300,
  TLS1_0: 0x0301,
  TLS1_1: 0x0302,
  TLS1_2: 0x0303,
  TLS1_3: 0x0304,
} as const;
export type ProtocolVersion = (typeof ProtocolVersion)[keyof typeof ProtocolVersion];

export function versionName(v: number): string {
  switch (v) {
    case 0x0300:
      return "SSLv3";
    case 0x0301:
      return "TLSv1";
    case 0x0302:
      return "TLSv1.1";
    case 0x0303:
      return "TLSv1.2";
    case 0x0304:
      return "TLSv1.3";
    default:
      return `0x${v.toString(16).padStart(4, "0")}`;
  }
}

/** RFC 5246 §6.2.1 ContentType */
export enum ContentType {
  change_cipher_spec = 20,
  alert = 21,
  handshake = 22,
  application_data = 23,
}

/** RFC 5246 §7.4 / RFC 8446 §4 HandshakeType */
export enum HandshakeType {
  hello_request = 0,
  client_hello = 1,
  server_hello = 2,
  new_session_ticket = 4,
  end_of_early_data = 5,
  encrypted_extensions = 8,
  certificate = 11,
  server_key_exchange = 12,
  certificate_request = 13,
  server_hello_done = 14,
  certificate_verify = 15,
  client_key_exchange = 16,
  finished = 20,
  certificate_status = 22,
  key_update = 24,
  message_hash = 254,
}

/** Extension types (IANA). */
export enum ExtensionType {
  server_name = 0,
  max_fragment_length = 1,
  status_request = 5,
  supported_groups = 10,
  ec_point_formats = 11,
  signature_algorithms = 13,
  application_layer_protocol_negotiation = 16,
  signed_certificate_timestamp = 18,
  padding = 21,
  encrypt_then_mac = 22,
  extended_master_secret = 23,
  session_ticket = 35,
  pre_shared_key = 41,
  early_data = 42,
  supported_versions = 43,
  cookie = 44,
  psk_key_exchange_modes = 45,
  certificate_authorities = 47,
  signature_algorithms_cert = 50,
  key_share = 51,
  renegotiation_info = 0xff01,
}

/** Named groups (RFC 8446 §4.2.7, RFC 8422, draft-ietf-tls-ecdhe-mlkem). */
export enum NamedGroup {
  secp256r1 = 0x0017,
  secp384r1 = 0x0018,
  secp521r1 = 0x0019,
  x25519 = 0x001d,
  x448 = 0x001e,
  ffdhe2048 = 0x0100,
  X25519MLKEM768 = 0x11ec,
}

const groupNames: Record<number, string> = {
  [NamedGroup.secp256r1]: "P-256",
  [NamedGroup.secp384r1]: "P-384",
  [NamedGroup.secp521r1]: "P-521",
  [NamedGroup.x25519]: "X25519",
  [NamedGroup.x448]: "X448",
  [NamedGroup.ffdhe2048]: "ffdhe2048",
  [NamedGroup.X25519MLKEM768]: "X25519MLKEM768",
};
export function groupName(g: number): string {
  return groupNames[g] ?? `0x${g.toString(16).padStart(4, "0")}`;
}
/** Accepts our names, IANA names and OpenSSL names (x25519, prime256v1, secp384r1, P-256 ...). */
export function parseGroup(name: string): NamedGroup | undefined {
  const n = name.trim().toLowerCase();
  const table: Record<string, NamedGroup> = {
    x25519: NamedGroup.x25519,
    "p-256": NamedGroup.secp256r1,
    p256: NamedGroup.secp256r1,
    secp256r1: NamedGroup.secp256r1,
    prime256v1: NamedGroup.secp256r1,
    "p-384": NamedGroup.secp384r1,
    p384: NamedGroup.secp384r1,
    secp384r1: NamedGroup.secp384r1,
    x25519mlkem768: NamedGroup.X25519MLKEM768,
  };
  return table[n];
}

/** SignatureScheme (RFC 8446 §4.2.3; TLS 1.2 uses the same code points as hash/signature pairs). */
export enum SignatureScheme {
  rsa_pkcs1_sha1 = 0x0201,
  ecdsa_sha1 = 0x0203,
  rsa_pkcs1_sha256 = 0x0401,
  rsa_pkcs1_sha384 = 0x0501,
  rsa_pkcs1_sha512 = 0x0601,
  ecdsa_secp256r1_sha256 = 0x0403,
  ecdsa_secp384r1_sha384 = 0x0503,
  ecdsa_secp521r1_sha512 = 0x0603,
  rsa_pss_rsae_sha256 = 0x0804,
  rsa_pss_rsae_sha384 = 0x0805,
  rsa_pss_rsae_sha512 = 0x0806,
  ed25519 = 0x0807,
  ed448 = 0x0808,
  rsa_pss_pss_sha256 = 0x0809,
  rsa_pss_pss_sha384 = 0x080a,
  rsa_pss_pss_sha512 = 0x080b,
}

export function schemeName(s: number): string {
  return SignatureScheme[s] ?? `0x${s.toString(16).padStart(4, "0")}`;
}

export type HashAlgorithm = "sha1" | "sha256" | "sha384" | "sha512";
