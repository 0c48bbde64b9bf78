/**
 * Writes the seed corpus: fuzz/corpus/<target>/<name>. Run `npm run fuzz:seeds` after changing
 * the scenarios or the wire format, and commit the result. Seeds are real messages: RFC 8448's
 * traces, flights recorded from whole connections of every scenario, the demo certificates.
 */
import { createHash } from "node:crypto";
import { mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { DEMO_CLIENT_CERT, DEMO_ROOT_CA, DEMO_SERVER_CERT } from "../src/cli/demo-certs.js";
import { HandshakeType } from "../src/constants.js";
import { decodeClientHello } from "../src/handshake/messages/client-hello.js";
import { writeExtensions } from "../src/handshake/messages/extensions.js";
import { decodeServerHello } from "../src/handshake/messages/server-hello.js";
import { decodeCertificate13 } from "../src/handshake/messages/tls13.js";
import type { TLSSession } from "../src/session/client-session.js";
import { concat, fromHex } from "../src/wire/bytes.js";
import { encode } from "../src/wire/writer.js";
import { pemToDer } from "../src/x509/index.js";
import * as RFC from "../test/vectors/rfc8448-data.js";
import { RSA_ROOT_CA, RSA_SERVER_CERT } from "./support/rsa-pki.js";
import { record, SCENARIOS, Setup } from "./support/scenarios.js";
import { handshakeMessagesOf } from "./support/split.js";
import { EXTENSION_TYPES } from "./targets/extensions.js";
import { TARGETS, type TargetName } from "./targets.js";

const root = new URL("../..", import.meta.url).pathname;
const corpusDir = join(root, "fuzz/corpus");
const seeds = new Map<TargetName, Uint8Array[]>(TARGETS.map((t) => [t, []]));
const add = (t: TargetName, ...parts: Uint8Array[]) => seeds.get(t)!.push(concat(...parts));
const b = (...bytes: number[]) => Uint8Array.from(bytes);

// ---- RFC 8448 -----------------------------------------------------------------------------
const traces = [RFC.SIMPLE, RFC.RESUMED, RFC.HRR, RFC.CLIENT_AUTH, RFC.COMPAT] as Record<string, string>[];
const rfcMessages: Uint8Array[] = [];
for (const t of traces) {
  for (const [k, v] of Object.entries(t)) {
    if (k.endsWith("Record")) add("record-deframer", b(0), fromHex(v));
    if (
      /^(clientHello|serverHello|helloRetryRequest|encryptedExtensions|certificate|certificateRequest|certificateVerify|clientCertificate|clientCertificateVerify|serverFinished|clientFinished|newSessionTicket|endOfEarlyData)$/.test(
        k,
      )
    )
      rfcMessages.push(fromHex(v));
  }
}

// ---- recorded connections ---------------------------------------------------------------
const recordedMessages: Uint8Array[] = [];
const sessions: TLSSession[] = [];
SCENARIOS.forEach((scenario, i) => {
  const setup = new Setup(scenario);
  const rec = record(setup);
  add("server-flight", b(i), rec.fromClient);
  add("client-flight", b(i), rec.fromServer);
  add("record-deframer", b(1), rec.fromClient);
  add("record-deframer", b(0x40), rec.fromServer);
  const tls13 = scenario.name.startsWith("tls13");
  for (const m of [
    ...handshakeMessagesOf(rec.fromClient, tls13),
    ...handshakeMessagesOf(rec.fromServer, tls13),
  ])
    recordedMessages.push(m.raw);
  const c = setup.client();
  c.on("session", (s) => sessions.push(s));
  const s = setup.server();
  for (let k = 0; k < 20; k++) {
    const x = c.takeOutgoing();
    const y = s.takeOutgoing();
    if (x.length === 0 && y.length === 0) break;
    if (x.length) s.receive(x);
    if (y.length) c.receive(y);
  }
});
// One byte at a time, for the split path of server-flight.
add("server-flight", b(0xff), seeds.get("server-flight")![3]!.subarray(1));

// ---- handshake messages, by decoder --------------------------------------------------------
const SELECTOR_12: Partial<Record<number, number>> = {
  [HandshakeType.server_hello]: 0,
  [HandshakeType.certificate]: 2,
  [HandshakeType.certificate_request]: 4,
  [HandshakeType.server_key_exchange]: 6,
  [HandshakeType.client_key_exchange]: 7,
  [HandshakeType.certificate_verify]: 9,
  [HandshakeType.new_session_ticket]: 10,
  [HandshakeType.finished]: 13,
  [HandshakeType.server_hello_done]: 16,
};
const SELECTOR_13: Partial<Record<number, number>> = {
  [HandshakeType.server_hello]: 0,
  [HandshakeType.encrypted_extensions]: 1,
  [HandshakeType.certificate]: 3,
  [HandshakeType.certificate_request]: 5,
  [HandshakeType.certificate_verify]: 9,
  [HandshakeType.new_session_ticket]: 11,
  [HandshakeType.key_update]: 12,
  [HandshakeType.finished]: 14,
};
const allMessages = [...rfcMessages, ...recordedMessages];
const helloExtensions: { type: number; data: Uint8Array; from: "client" | "server" }[] = [];
for (const raw of allMessages) {
  const type = raw[0]!;
  const body = raw.subarray(4);
  add("handshake-reassembler", b(0x10), raw);
  if (type === HandshakeType.client_hello) {
    add("client-hello", body);
    for (const e of decodeClientHello(body).extensions) helloExtensions.push({ ...e, from: "client" });
    continue;
  }
  if (type === HandshakeType.server_hello)
    for (const e of decodeServerHello(body).extensions) helloExtensions.push({ ...e, from: "server" });
  // Certificate and friends differ between versions: seed both decoders with each.
  for (const sel of new Set([SELECTOR_12[type], SELECTOR_13[type]]))
    if (sel !== undefined) add("handshake-messages", b(sel), body);
  if (type === HandshakeType.finished && body.length === 48) add("handshake-messages", b(15), body);
}
add("handshake-reassembler", b(0x03), concat(...rfcMessages.slice(0, 6)));
add("handshake-reassembler", b(0x00), concat(...recordedMessages.slice(0, 8)));
add("handshake-messages", b(17), new Uint8Array(0));
add("handshake-messages", b(8), b(2, 0xaa, 0xbb));

// ---- extensions -----------------------------------------------------------------------------
const EXT_TYPES = EXTENSION_TYPES;
const seenExt = new Set<string>();
for (const e of helloExtensions) {
  const i = EXT_TYPES.indexOf(e.type);
  if (i < 0) continue;
  const sel = 2 * i + (e.from === "server" ? 1 : 0);
  const key = `${sel}:${Buffer.from(e.data).toString("hex")}`;
  if (seenExt.has(key)) continue;
  seenExt.add(key);
  add("extensions", b(sel), e.data);
}
add(
  "extensions",
  b(0xfe),
  encode((w) => writeExtensions(w, helloExtensions.filter((e) => e.from === "client").slice(0, 12))),
);

// ---- alerts, certificates, sessions -------------------------------------------------------------
for (const [level, desc] of [
  [1, 0],
  [2, 40],
  [2, 47],
  [2, 80],
  [1, 90],
  [2, 116],
] as const)
  add("alert", b(level, desc));
const ders = [...pemToDer(DEMO_ROOT_CA), ...pemToDer(DEMO_SERVER_CERT), ...pemToDer(DEMO_CLIENT_CERT)];
ders.push(...pemToDer(RSA_ROOT_CA), ...pemToDer(RSA_SERVER_CERT));
ders.push(
  ...decodeCertificate13(fromHex(RFC.SIMPLE.certificate!).subarray(4), 10).entries.map((e) => e.cert),
);
ders.forEach((der, i) => {
  add("x509", b(i & 3), der);
  add("der", der);
});
for (const s of sessions.slice(0, 6)) add("session-state", s.toBytes());

// ---- write ---------------------------------------------------------------------------------
let total = 0;
for (const [target, list] of seeds) {
  const dir = join(corpusDir, target);
  mkdirSync(dir, { recursive: true });
  // Only generated seeds are replaced; other inputs stay (regression-*: crashes once found;
  // sha1 names: merged in by `npm run fuzz -- --merge`).
  for (const f of readdirSync(dir)) if (f.startsWith("seed-")) rmSync(join(dir, f));
  const names = new Set<string>();
  for (const s of list) {
    const name = `seed-${createHash("sha1").update(s).digest("hex").slice(0, 16)}`;
    if (names.has(name)) continue;
    names.add(name);
    writeFileSync(join(dir, name), s);
    total += s.length;
  }
  console.log(`${target}: ${names.size} seeds`);
}
console.log(`total ${total} bytes`);
