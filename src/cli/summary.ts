/**
 * The connection summary, shared by the client's one-line stderr report and the server's --www
 * page, so that both describe a connection in the same words.
 */
import { groupName, ProtocolVersion, schemeName } from "../constants.js";
import type { HandshakeInfo } from "../handshake/context.js";

const yesNo = (b: boolean): string => (b ? "yes" : "no");
const TLS13: number = ProtocolVersion.TLS1_3;

/** `no`, or `yes (ticket)` / `yes (session_id)` / `yes (psk_dhe_ke)`: whether and how the session was resumed. */
export function resumedText(info: HandshakeInfo): string {
  if (!info.resumed) return "no";
  return `yes (${info.resumedWith ?? "unknown"})`;
}

/** The key-exchange group, or why there is none (RSA key transport, or a resumption without one). */
function groupText(info: HandshakeInfo): string {
  if (info.group !== undefined) return groupName(info.group);
  if (info.resumed) return "none (resumed without a new key exchange)";
  return "none (RSA key transport)";
}

/** Subject of the peer's leaf certificate, or "none". */
export function peerSubject(info: HandshakeInfo): string {
  return info.peerCertificates[0]?.subject.toString() ?? "none";
}

/**
 * The summary as ordered [label, value] pairs. `side` is the side that reports: a server describes
 * the client's certificate, a client the server's.
 */
export function summaryFields(info: HandshakeInfo, side: "client" | "server"): [string, string][] {
  const f: [string, string][] = [
    ["protocol", info.protocol],
    ["cipher", info.cipherSuite.name],
    ["cipher (openssl)", info.cipherSuite.opensslName],
    ["group", groupText(info)],
    ["hello retry", yesNo(info.helloRetry ?? false)],
  ];
  if (side === "server") {
    f.push(["client certificate", peerSubject(info)]);
    if (info.peerCertificates.length > 0) f.push(["client certificate verified", yesNo(info.peerVerified)]);
  } else {
    f.push(["server certificate", peerSubject(info)]);
    f.push(["server certificate verified", yesNo(info.peerVerified)]);
  }
  if (info.peerSignatureScheme !== undefined)
    f.push([`${side === "server" ? "client" : "server"} signature`, schemeName(info.peerSignatureScheme)]);
  f.push(
    ["alpn", info.alpnProtocol ?? "none"],
    ["sni", info.serverName ?? "none"],
    // TLS 1.3's key schedule always binds the whole handshake: RFC 7627 does not apply.
    ["extended master secret", info.version === TLS13 ? "n/a (TLS 1.3)" : yesNo(info.extendedMasterSecret)],
    ["resumed", resumedText(info)],
  );
  if (info.earlyData) f.push(["early data", info.earlyData]);
  return f;
}

/** The --www page body: one `label: value` line each. */
export function summaryText(info: HandshakeInfo, side: "client" | "server" = "server"): string {
  return summaryFields(info, side)
    .map(([k, v]) => `${k}: ${v}\n`)
    .join("");
}

/**
 * The client's one line after the handshake, e.g.
 * `connected TLSv1.3 TLS_AES_128_GCM_SHA256 group X25519MLKEM768 alpn none verified yes hello-retry no resumed: no`
 * (the last field in the words of the --www page: `resumed: yes (ticket)` and so on).
 */
export function summaryLine(info: HandshakeInfo): string {
  const group = info.group !== undefined ? groupName(info.group) : "none";
  return `connected ${info.protocol} ${info.cipherSuite.name} group ${group} alpn ${info.alpnProtocol ?? "none"} verified ${yesNo(info.peerVerified)} hello-retry ${yesNo(info.helloRetry ?? false)} resumed: ${resumedText(info)}`;
}
