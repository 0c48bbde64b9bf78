import { rootCertificates } from "node:tls";

/** The Mozilla NSS roots compiled into Node (node:tls `rootCertificates`), as PEM strings. */
export function defaultRoots(): string[] {
  return [...rootCertificates];
}
