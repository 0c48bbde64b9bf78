#!/usr/bin/env node
// Extracts the labelled hex values of RFC 8448 (Example Handshake Traces for TLS 1.3) into
// test/vectors/rfc8448-data.ts, so that the vector tests stand alone (they never read the RFC).
//
// Usage: node scripts/extract-rfc8448.mjs [path/to/rfc8448.txt]   (default /work/shared/rfc/rfc8448.txt)
//
// The RFC's traces are a list of steps, "   {client}  derive secret "tls13 c hs traffic":", each
// followed by values, "      hash (32 octets):  86 0c 06 ...", whose hex continues on lines indented
// by nine spaces, possibly across a page break (form feed, page footer and header). Every value's
// length is checked against its "(N octets)". The values the tests need are picked below by
// (section, role, step, label, occurrence); a missing or ambiguous pick is an error.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const root = new URL("..", import.meta.url).pathname;
const source = process.argv[2] ?? "/work/shared/rfc/rfc8448.txt";
const out = join(root, "test/vectors/rfc8448-data.ts");

// ---- parse -------------------------------------------------------------------------------------

const lines = readFileSync(source, "utf8").split("\n");
const isBreak = (l) =>
  l.trim() === "" ||
  /^\f*$/.test(l) ||
  /^\f?Thomson\s+Informational\s+\[Page \d+\]$/.test(l) ||
  /^\f?RFC 8448\s+TLS 1\.3 Traces\s+January 2019$/.test(l);
const HEX_LINE = /^ {9}([0-9a-f]{2}(?: [0-9a-f]{2})*)\s*$/;

/** @type {{section: number, role: string, step: string, stepLine: number, label: string, hex: string, line: number}[]} */
const records = [];
let section = 0;
let step = null;
for (let i = 0; i < lines.length; i++) {
  const l = lines[i].replace(/^\f/, "");
  let m = /^(\d+)\. {2}\S/.exec(l);
  if (m) {
    section = Number(m[1]);
    step = null;
    continue;
  }
  m = /^ {3}\{(client|server)\} {2}(.*)$/.exec(l);
  if (m) {
    let text = m[2];
    const stepLine = i + 1;
    // A step's description may wrap: "(same as server handshake\n      secret)".
    while ((text.match(/\(/g)?.length ?? 0) > (text.match(/\)/g)?.length ?? 0))
      text += ` ${lines[++i].trim()}`;
    step = { role: m[1], text: text.replace(/:$/, ""), line: stepLine };
    continue;
  }
  m = /^ {6}(\S[^:]*?) \((\d+) octets\): {2}(.*)$/.exec(l);
  if (m) {
    if (!step) throw new Error(`line ${i + 1}: value outside a step`);
    const [, label, octets, first] = m;
    const line = i + 1;
    let hex = "";
    if (first !== "(empty)") {
      if (!/^[0-9a-f]{2}( [0-9a-f]{2})*$/.test(first.trim())) throw new Error(`line ${line}: bad hex`);
      hex = first.trim();
      // Continuation lines, skipping page breaks between them.
      for (;;) {
        let j = i + 1;
        while (j < lines.length && isBreak(lines[j])) j++;
        const c = j < lines.length ? HEX_LINE.exec(lines[j]) : null;
        if (!c) break;
        hex += ` ${c[1]}`;
        i = j;
      }
    }
    const bytes = hex === "" ? "" : hex.replaceAll(" ", "");
    if (bytes.length !== 2 * Number(octets))
      throw new Error(`line ${line}: ${label} has ${bytes.length / 2} octets, says ${octets}`);
    records.push({ section, role: step.role, step: step.text, stepLine: step.line, label, hex: bytes, line });
    continue;
  }
  m = /^ {6}salt: {2}0 \(all zero octets\)$/.exec(l);
  if (m) continue; // the all-zero salt of "extract secret "early"" (HKDF-Extract's default)
  if (/^ {6}\S.*\(\d+ octets\)/.test(l)) throw new Error(`line ${i + 1}: unparsed value line: ${l}`);
}

// Every "(N octets):" of the RFC must have become a value.
const labelled = lines.filter((l) => /\(\d+ octets\): /.test(l)).length;
if (labelled !== records.length) throw new Error(`parsed ${records.length} of ${labelled} labelled values`);

// ---- pick --------------------------------------------------------------------------------------

const ROLES = { c: "client", s: "server" };

/**
 * A pick: [name, "c"|"s", step (without the colon), label, occurrence?] where the occurrence (0 for
 * the first, -1 for the last) counts the steps of that text and role in the section. Without one, the
 * step must be unambiguous: several steps with different values are an error.
 */
function pick(sec, [name, role, stepText, label, nth]) {
  const matches = records.filter(
    (r) => r.section === sec && r.role === ROLES[role] && r.step === stepText && r.label === label,
  );
  if (matches.length === 0) throw new Error(`§${sec}: no ${role} "${stepText}" / ${label} (for ${name})`);
  if (nth === undefined && new Set(matches.map((x) => x.hex)).size > 1)
    throw new Error(`§${sec}: ${matches.length} values for ${role} "${stepText}" / ${label} (for ${name})`);
  const i = nth === undefined ? 0 : nth < 0 ? matches.length + nth : nth;
  const r = matches[i];
  if (!r)
    throw new Error(`§${sec}: occurrence ${nth} of ${role} "${stepText}" / ${label} missing (for ${name})`);
  return { name, ...r };
}

const CH = "construct a ClientHello handshake message";
const SH = "construct a ServerHello handshake message";
const SEND_HS = "send handshake record";
const DER_HS = 'derive secret for handshake "tls13 derived"';
const DER_MS = 'derive secret for master "tls13 derived"';
const XHS = 'extract secret "handshake"';
const XMS = 'extract secret "master"';
const CHS = 'derive secret "tls13 c hs traffic"';
const SHS = 'derive secret "tls13 s hs traffic"';
const CAP = 'derive secret "tls13 c ap traffic"';
const SAP = 'derive secret "tls13 s ap traffic"';
const EXP = 'derive secret "tls13 exp master"';
const RES = 'derive secret "tls13 res master"';
const FIN = 'calculate finished "tls13 finished"';
const FIN_MSG = "construct a Finished handshake message";
const W_HS = "derive write traffic keys for handshake data";
const R_HS = "derive read traffic keys for handshake data";
const W_AP = "derive write traffic keys for application data";
const ALERT = "send alert record";
const APPDATA = "send application_data record";

/** What every full handshake trace (§3, §5, §6, §7) shows; `srvFlight` is the occurrence of the server's encrypted flight. */
function common({ x = "x25519", srvFlight = 1 }) {
  return [
    ["clientPrivateKey", "c", `create an ephemeral ${x} key pair`, "private key", -1],
    ["clientPublicKey", "c", `create an ephemeral ${x} key pair`, "public key", -1],
    ["serverPrivateKey", "s", `create an ephemeral ${x} key pair`, "private key"],
    ["serverPublicKey", "s", `create an ephemeral ${x} key pair`, "public key"],
    ["clientHello", "c", CH, "ClientHello", -1],
    ["clientHelloRecord", "c", SEND_HS, "complete record", -2],
    ["serverHello", "s", SH, "ServerHello", -1],
    ["serverHelloRecord", "s", SEND_HS, "complete record", srvFlight - 1],
    ["earlySecret", "s", 'extract secret "early"', "secret"],
    ["derivedInfo", "s", DER_HS, "info"],
    ["emptyHash", "s", DER_HS, "hash"],
    ["derivedForHandshake", "s", DER_HS, "expanded"],
    ["sharedSecret", "s", XHS, "IKM"],
    ["handshakeSecret", "s", XHS, "secret"],
    ["helloHash", "s", CHS, "hash"],
    ["clientHsTrafficInfo", "s", CHS, "info"],
    ["clientHsTraffic", "s", CHS, "expanded"],
    ["serverHsTrafficInfo", "s", SHS, "info"],
    ["serverHsTraffic", "s", SHS, "expanded"],
    ["derivedForMaster", "s", DER_MS, "expanded"],
    ["masterSecret", "s", XMS, "secret"],
    ["keyInfo", "s", W_HS, "key info"],
    ["ivInfo", "s", W_HS, "iv info"],
    ["serverHsKey", "s", W_HS, "key expanded"],
    ["serverHsIv", "s", W_HS, "iv expanded"],
    ["encryptedExtensions", "s", "construct an EncryptedExtensions handshake message", "EncryptedExtensions"],
    ["finishedInfo", "s", FIN, "info"],
    ["serverFinishedKey", "s", FIN, "expanded"],
    ["serverVerifyData", "s", FIN, "finished"],
    ["serverFinished", "s", FIN_MSG, "Finished"],
    ["serverFlightPayload", "s", SEND_HS, "payload", srvFlight],
    ["serverFlightRecord", "s", SEND_HS, "complete record", srvFlight],
    ["finishedHash", "s", CAP, "hash"],
    ["clientApTrafficInfo", "s", CAP, "info"],
    ["clientApTraffic", "s", CAP, "expanded"],
    ["serverApTrafficInfo", "s", SAP, "info"],
    ["serverApTraffic", "s", SAP, "expanded"],
    ["expMasterInfo", "s", EXP, "info"],
    ["expMaster", "s", EXP, "expanded"],
    ["serverApKey", "s", W_AP, "key expanded"],
    ["serverApIv", "s", W_AP, "iv expanded"],
    ["clientHsKey", "s", R_HS, "key expanded"],
    ["clientHsIv", "s", R_HS, "iv expanded"],
    ["clientFinishedKey", "c", FIN, "expanded"],
    ["clientVerifyData", "c", FIN, "finished"],
    ["clientFinished", "c", FIN_MSG, "Finished"],
    ["clientFlightPayload", "c", SEND_HS, "payload", -1],
    ["clientFlightRecord", "c", SEND_HS, "complete record", -1],
    ["clientApKey", "c", W_AP, "key expanded"],
    ["clientApIv", "c", W_AP, "iv expanded"],
    ["resumptionHash", "c", RES, "hash"],
    ["resMasterInfo", "c", RES, "info"],
    ["resMaster", "c", RES, "expanded"],
    ["clientAlertPayload", "c", ALERT, "payload"],
    ["clientAlertRecord", "c", ALERT, "complete record"],
    ["serverAlertPayload", "s", ALERT, "payload"],
    ["serverAlertRecord", "s", ALERT, "complete record"],
  ];
}
const serverCert = [
  ["certificate", "s", "construct a Certificate handshake message", "Certificate"],
  ["certificateVerify", "s", "construct a CertificateVerify handshake message", "CertificateVerify"],
];
const appData = [
  ["clientAppDataPayload", "c", APPDATA, "payload"],
  ["clientAppDataRecord", "c", APPDATA, "complete record"],
  ["serverAppDataPayload", "s", APPDATA, "payload"],
  ["serverAppDataRecord", "s", APPDATA, "complete record"],
];

const traces = [
  {
    name: "SIMPLE",
    section: 3,
    title: "Simple 1-RTT Handshake",
    picks: [
      ...common({}),
      ...serverCert,
      ["resumptionInfo", "s", 'generate resumption secret "tls13 resumption"', "info"],
      ["ticketNonce", "s", 'generate resumption secret "tls13 resumption"', "hash"],
      ["resumptionPsk", "s", 'generate resumption secret "tls13 resumption"', "expanded"],
      ["newSessionTicket", "s", "construct a NewSessionTicket handshake message", "NewSessionTicket"],
      ["ticketPayload", "s", SEND_HS, "payload", 2],
      ["ticketRecord", "s", SEND_HS, "complete record", 2],
      ...appData,
    ],
  },
  {
    name: "RESUMED",
    section: 4,
    title: "Resumed 0-RTT Handshake",
    picks: [
      ["clientPrivateKey", "c", "create an ephemeral x25519 key pair", "private key"],
      ["clientPublicKey", "c", "create an ephemeral x25519 key pair", "public key"],
      ["serverPrivateKey", "s", "create an ephemeral x25519 key pair", "private key"],
      ["serverPublicKey", "s", "create an ephemeral x25519 key pair", "public key"],
      ["psk", "c", 'extract secret "early"', "IKM"],
      ["earlySecret", "c", 'extract secret "early"', "secret"],
      ["clientHelloPrefix", "c", "calculate PSK binder", "ClientHello prefix"],
      ["binderHash", "c", "calculate PSK binder", "binder hash"],
      ["binderKey", "c", "calculate PSK binder", "PRK"],
      ["binderFinishedKey", "c", "calculate PSK binder", "expanded"],
      ["binder", "c", "calculate PSK binder", "finished"],
      ["clientHello", "c", SEND_HS, "payload", 0],
      ["clientHelloRecord", "c", SEND_HS, "complete record", 0],
      ["clientHelloHash", "c", 'derive secret "tls13 c e traffic"', "hash"],
      ["clientEarlyTraffic", "c", 'derive secret "tls13 c e traffic"', "expanded"],
      ["earlyExporterMaster", "c", 'derive secret "tls13 e exp master"', "expanded"],
      ["clientEarlyKey", "c", "derive write traffic keys for early application data", "key expanded"],
      ["clientEarlyIv", "c", "derive write traffic keys for early application data", "iv expanded"],
      ["earlyDataPayload", "c", APPDATA, "payload", 0],
      ["earlyDataRecord", "c", APPDATA, "complete record", 0],
      ["serverHello", "s", SH, "ServerHello"],
      ["serverHelloRecord", "s", SEND_HS, "complete record", 0],
      ["derivedForHandshake", "s", DER_HS, "expanded"],
      ["sharedSecret", "s", XHS, "IKM"],
      ["handshakeSecret", "s", XHS, "secret"],
      ["helloHash", "s", CHS, "hash"],
      ["clientHsTraffic", "s", CHS, "expanded"],
      ["serverHsTraffic", "s", SHS, "expanded"],
      ["derivedForMaster", "s", DER_MS, "expanded"],
      ["masterSecret", "s", XMS, "secret"],
      ["serverHsKey", "s", W_HS, "key expanded"],
      ["serverHsIv", "s", W_HS, "iv expanded"],
      [
        "encryptedExtensions",
        "s",
        "construct an EncryptedExtensions handshake message",
        "EncryptedExtensions",
      ],
      ["serverFinishedKey", "s", FIN, "expanded"],
      ["serverVerifyData", "s", FIN, "finished"],
      ["serverFinished", "s", FIN_MSG, "Finished"],
      ["serverFlightPayload", "s", SEND_HS, "payload", 1],
      ["serverFlightRecord", "s", SEND_HS, "complete record", 1],
      ["finishedHash", "s", CAP, "hash"],
      ["clientApTraffic", "s", CAP, "expanded"],
      ["serverApTraffic", "s", SAP, "expanded"],
      ["expMaster", "s", EXP, "expanded"],
      ["serverApKey", "s", W_AP, "key expanded"],
      ["serverApIv", "s", W_AP, "iv expanded"],
      ["endOfEarlyData", "c", "construct an EndOfEarlyData handshake message", "EndOfEarlyData"],
      ["endOfEarlyDataRecord", "c", SEND_HS, "complete record", 1],
      ["clientHsKey", "c", W_HS, "key expanded"],
      ["clientHsIv", "c", W_HS, "iv expanded"],
      ["clientFinishedKey", "c", FIN, "expanded"],
      ["clientVerifyData", "c", FIN, "finished"],
      ["clientFinished", "c", FIN_MSG, "Finished"],
      ["clientFlightRecord", "c", SEND_HS, "complete record", 2],
      ["clientApKey", "c", W_AP, "key expanded"],
      ["clientApIv", "c", W_AP, "iv expanded"],
      ["resumptionHash", "c", RES, "hash"],
      ["resMaster", "c", RES, "expanded"],
      ["clientAppDataPayload", "c", APPDATA, "payload", 1],
      ["clientAppDataRecord", "c", APPDATA, "complete record", 1],
      ["serverAppDataPayload", "s", APPDATA, "payload"],
      ["serverAppDataRecord", "s", APPDATA, "complete record"],
      ["clientAlertRecord", "c", ALERT, "complete record"],
      ["serverAlertRecord", "s", ALERT, "complete record"],
    ],
  },
  {
    name: "HRR",
    section: 5,
    title: "HelloRetryRequest",
    picks: [
      ...common({ x: "P-256", srvFlight: 2 }),
      ["clientX25519PrivateKey", "c", "create an ephemeral x25519 key pair", "private key"],
      ["clientX25519PublicKey", "c", "create an ephemeral x25519 key pair", "public key"],
      ["clientHello1", "c", CH, "ClientHello", 0],
      ["clientHello1Record", "c", SEND_HS, "complete record", 0],
      ["helloRetryRequest", "s", SH, "ServerHello", 0],
      ["helloRetryRequestRecord", "s", SEND_HS, "complete record", 0],
      ...serverCert,
    ],
  },
  {
    name: "CLIENT_AUTH",
    section: 6,
    title: "Client Authentication",
    picks: [
      ...common({}),
      ...serverCert,
      ["certificateRequest", "s", "construct a CertificateRequest handshake message", "CertificateRequest"],
      ["clientCertificate", "c", "construct a Certificate handshake message", "Certificate"],
      [
        "clientCertificateVerify",
        "c",
        "construct a CertificateVerify handshake message",
        "CertificateVerify",
      ],
    ],
  },
  {
    name: "COMPAT",
    section: 7,
    title: "Compatibility Mode",
    picks: [
      ...common({}),
      ...serverCert,
      ["serverChangeCipherSpecRecord", "s", "send change_cipher_spec record", "complete record"],
      ["clientChangeCipherSpecRecord", "c", "send change_cipher_spec record", "complete record"],
    ],
  },
];

// ---- emit --------------------------------------------------------------------------------------

const body = [];
body.push(
  "// Generated by scripts/extract-rfc8448.mjs from RFC 8448 (Example Handshake Traces for TLS 1.3).",
  "// Do not edit: rerun the script. Each value is the hex of one labelled block of the RFC; the",
  "// comment names the section, the step ({role} and description) and the label, with the RFC's line.",
  "",
);
let count = 0;
for (const t of traces) {
  const seen = new Set();
  body.push(`/** RFC 8448 §${t.section}, ${t.title}. */`);
  body.push(`export const ${t.name} = {`);
  for (const p of t.picks) {
    if (seen.has(p[0])) throw new Error(`§${t.section}: ${p[0]} picked twice`);
    seen.add(p[0]);
    const r = pick(t.section, p);
    body.push(`  /** §${t.section} {${r.role}} ${r.step}: ${r.label} (line ${r.line}). */`);
    // Laid out as biome formats it (line width 110), so that `biome check` leaves the file alone.
    const line = `  ${r.name}: "${r.hex}",`;
    body.push(...(line.length <= 110 ? [line] : [`  ${r.name}:`, `    "${r.hex}",`]));
    count++;
  }
  body.push("} as const satisfies Record<string, string>;", "");
}
writeFileSync(out, body.join("\n"));
console.log(`wrote ${out}: ${count} values from ${records.length} labelled blocks of ${source}`);
