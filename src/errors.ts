import { type AlertDescription, alertName } from "./alert.js";

/**
 * The one error type the application sees for protocol failures.
 * `alert` is the alert that ended the connection; `sentBy` says whether we sent it ("local")
 * or received it from the peer ("peer"). `code` is a stable string to match on: the Node/OpenSSL
 * certificate codes (CERT_HAS_EXPIRED, ERR_TLS_CERT_ALTNAME_INVALID, ...) for verification
 * failures, otherwise ERR_TLS_ALERT_<NAME> (local) or ERR_TLS_PEER_ALERT_<NAME> (peer).
 */
export class TLSError extends Error {
  override readonly name = "TLSError";
  readonly alert: AlertDescription;
  readonly sentBy: "local" | "peer";
  readonly code: string;

  constructor(alert: AlertDescription, sentBy: "local" | "peer", message: string, code?: string) {
    super(message);
    this.alert = alert;
    this.sentBy = sentBy;
    this.code =
      code ??
      (sentBy === "local"
        ? `ERR_TLS_ALERT_${alertName(alert).toUpperCase()}`
        : `ERR_TLS_PEER_ALERT_${alertName(alert).toUpperCase()}`);
  }

  get alertName(): string {
    return alertName(this.alert);
  }

  /** A failure detected here; we send `alert` to the peer. */
  static local(alert: AlertDescription, message: string, code?: string): TLSError {
    return new TLSError(alert, "local", `${message} (sent ${alertName(alert)})`, code);
  }

  /** A fatal alert received from the peer. */
  static peer(alert: AlertDescription, message?: string): TLSError {
    return new TLSError(alert, "peer", message ?? `peer sent fatal alert ${alertName(alert)}`);
  }
}

export function isTLSError(e: unknown): e is TLSError {
  return e instanceof TLSError;
}
