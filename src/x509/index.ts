export type {
  AuthorityKeyId,
  BasicConstraints,
  Certificate,
  Extension,
  GeneralSubtrees,
  IpSubnet,
  KeyUsageName,
  NameConstraints,
  SignatureAlgorithm,
  SubjectAltName,
} from "./certificate.js";
export { derToPem, parseCertificate, pemToDer } from "./certificate.js";
export { type DerNode, DerReader, derError, MAX_DEPTH } from "./der.js";
export {
  checkHostname,
  formatIp,
  hostnameMismatchReason,
  matchDnsPattern,
  normalizeDnsName,
  parseIPv4,
  parseIPv6,
  parseIp,
} from "./hostname.js";
export { DistinguishedName, type NameAttribute } from "./name.js";
export { ATTRIBUTE_NAMES, KNOWN_EXTENSIONS, OID } from "./oids.js";
export { defaultRoots } from "./roots.js";
export {
  type CertVerifier,
  ChainVerifier,
  type ChainVerifierOptions,
  type VerifiedChain,
  type VerifyContext,
} from "./verify.js";
