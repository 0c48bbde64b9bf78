/**
 * `typetls demo`: a client and a server in this process, on 127.0.0.1 and the embedded demo PKI,
 * with client authentication so that every step of the classic SSL handshake description appears.
 * Prints each message as it travelled (taken from both sides' 'trace' events), then the data, the
 * close and a summary. Numbers follow the article the project started from (its 15 steps describe
 * TLS 1.2); the order is the wire's. TLS 1.3, the default, is shown against the same numbers: which
 * step each 1.3 message stands for, which messages are new and which steps are gone.
 */
import { styleText } from "node:util";
import { AlertDescription, AlertLevel } from "../alert.js";
import { ClientConfig, type ClientOptions, ServerConfig, type VersionName } from "../config.js";
import type { AlertEvent, TraceEvent } from "../connection.js";
import { groupName, ProtocolVersion, versionName } from "../constants.js";
import type { HandshakeInfo } from "../handshake/context.js";
import { connect, createServer } from "../node/api.js";
import type { TLSSocket } from "../node/socket.js";
import { arrowFor, fieldLines, type Role, senderOf } from "../trace/text.js";
import { parseCommand, parseVersionArg, splitList, UsageError } from "./args.js";
import { describeError, type Output, stdio } from "./common.js";
import {
  DEMO_CLIENT_CERT,
  DEMO_CLIENT_KEY,
  DEMO_ROOT_CA,
  DEMO_SERVER_CERT,
  DEMO_SERVER_KEY,
} from "./demo-certs.js";
import { peerSubject, summaryFields } from "./summary.js";

export const DEMO_USAGE = `usage: typetls demo [--tls12] [--ciphers LIST] [--groups LIST] [--key-shares LIST]
                   [--server-groups LIST] [--no-client-auth] [--no-middlebox-compat]

Runs a TLS client and server in this process over 127.0.0.1 with the embedded demo certificates
(client authentication on), and prints every handshake message in the order it travels, numbered
as in the classic description of the SSL handshake (steps 1 to 15, which describe TLS 1.2).
TLS 1.3 is the default: each 1.3 message is shown with the step it stands for, new messages are
marked "-", and the steps TLS 1.3 dropped are listed with the reason.

options:
  --tls12                  run TLS 1.2, the flight the 15 steps describe (= --max-version 1.2)
  --min-version V          lowest version the client offers (1.2, 1.3)
  --max-version V          highest version the client offers (default 1.3)
  --ciphers LIST           cipher suites the client offers (IANA or OpenSSL names)
  --groups LIST            key-exchange groups the client offers
                           (X25519MLKEM768, X25519, P-256, P-384)
  --key-shares LIST        TLS 1.3: the groups the client sends key shares for
                           (default X25519MLKEM768,X25519)
  --server-groups LIST     the groups the server accepts; when the client sent no key share for
                           any of them, the server asks for one (HelloRetryRequest)
  --no-client-auth         do not ask for a client certificate (steps 4, 7 and 9 disappear)
  --no-middlebox-compat    TLS 1.3 without the dummy ChangeCipherSpec records (RFC 8446 §D.4)
  -h, --help               this help`;

const DEMO_OPTIONS = {
  help: { type: "boolean", short: "h" },
  tls12: { type: "boolean" },
  "min-version": { type: "string" },
  "max-version": { type: "string" },
  ciphers: { type: "string" },
  groups: { type: "string" },
  "key-shares": { type: "string" },
  "server-groups": { type: "string" },
  "no-client-auth": { type: "boolean" },
  "no-middlebox-compat": { type: "boolean" },
} as const;

/** What each step is for, in the words of the handshake description (shortened). */
const STEP_TEXT: Record<number, string> = {
  1: "what the client supports: versions, suites, groups",
  2: "the server picks the version and the cipher suite",
  3: "the server's certificate chain",
  4: "the server asks for a client certificate",
  5: "the server's ephemeral key, signed by its cert key",
  6: "the server's hello messages are done",
  7: "the client's certificate chain (asked for in 4)",
  8: "the client's ephemeral key: both derive the secret",
  9: "the client signs the handshake with its cert key",
  10: "the client switches to the negotiated keys",
  11: "the client's MAC of the handshake, encrypted",
  12: "the server switches to the negotiated keys",
  13: "the server's MAC of the handshake: handshake done",
  14: "encrypted application data",
  15: "no more data in this direction",
};

/** The article's number for a TLS 1.2 message sent by `sender`. */
export function stepNumber(message: string, sender: Role): number | undefined {
  switch (message) {
    case "ClientHello":
      return 1;
    case "ServerHello":
      return 2;
    case "Certificate":
      return sender === "server" ? 3 : 7;
    case "CertificateRequest":
      return 4;
    case "ServerKeyExchange":
      return 5;
    case "ServerHelloDone":
      return 6;
    case "ClientKeyExchange":
      return 8;
    case "CertificateVerify":
      return 9;
    case "ChangeCipherSpec":
      return sender === "client" ? 10 : 12;
    case "Finished":
      return sender === "client" ? 11 : 13;
    default:
      return undefined;
  }
}

/** How a TLS 1.3 message relates to the 15 steps: its number (none for new ones), and what it does. */
export interface Step13 {
  no: number | undefined;
  text: string;
  /** A second line under the heading: what the message carries in place of another step. */
  note?: string;
}

/** The TLS 1.3 reading of a message sent by `sender`. `again` marks the ClientHello after a HelloRetryRequest. */
export function step13(message: string, sender: Role, again = false): Step13 | undefined {
  switch (message) {
    case "ClientHello":
      return again
        ? { no: 1, text: "again, with a key share for the group the server asked for" }
        : {
            no: 1,
            text: STEP_TEXT[1]!,
            note: "+ key_share: the client's half of the key exchange (in place of step 8)",
          };
    case "HelloRetryRequest":
      return { no: undefined, text: "new in 1.3: no usable key share; asks for another group" };
    case "ServerHello":
      return {
        no: 2,
        text: "the server picks the version, the suite and the group",
        note: "+ key_share: the server's half (in place of 5); both now derive the handshake keys",
      };
    case "ChangeCipherSpec":
      return { no: undefined, text: "dummy: middlebox compatibility, not steps 10/12" };
    case "EncryptedExtensions":
      return { no: undefined, text: "new in 1.3: the server's other extensions, encrypted" };
    case "CertificateRequest":
      return { no: 4, text: STEP_TEXT[4]! };
    case "Certificate":
      return sender === "server" ? { no: 3, text: STEP_TEXT[3]! } : { no: 7, text: STEP_TEXT[7]! };
    case "CertificateVerify":
      return sender === "server"
        ? { no: undefined, text: "the server signs the handshake (was the signature in 5)" }
        : { no: 9, text: STEP_TEXT[9]! };
    case "Finished":
      return sender === "server"
        ? { no: 13, text: "the server's MAC of the handshake, before the client's" }
        : { no: 11, text: "the client's MAC of the handshake: handshake done" };
    case "NewSessionTicket":
      return { no: undefined, text: "after the handshake: a ticket to resume this session later" };
    case "KeyUpdate":
      return { no: undefined, text: "after the handshake: new traffic keys for this direction" };
    default:
      return undefined;
  }
}

/** The steps TLS 1.3 does not have, and why, one line each. */
function goneIn13(compat: boolean): [number, string, string][] {
  return [
    [
      5,
      "ServerKeyExchange",
      "split: its key share is in ServerHello (2), its signature is CertificateVerify",
    ],
    [6, "ServerHelloDone", "gone: the server's flight always ends with its Finished (13)"],
    [
      8,
      "ClientKeyExchange",
      "gone: the client's key share went out in ClientHello (1), a round trip earlier",
    ],
    [10, "ChangeCipherSpec", "gone: keys change at fixed points of the handshake, not on a signal"],
    [
      12,
      "ChangeCipherSpec",
      `gone: the same for the server${compat ? "; the ChangeCipherSpec records above are dummies" : ""}`,
    ],
  ];
}

interface Step {
  sender: Role;
  message: string;
  /** Fields from the sender's trace, then what the receiver saw (e.g. whether a chain verified). */
  fields: Record<string, string>;
  received: boolean;
  /** 14 for application data, 15 for close_notify; handshake messages are numbered when printed. */
  no?: number;
}

interface Style {
  bold(s: string): string;
  dim(s: string): string;
  arrow(sender: Role, s: string): string;
}

function makeStyle(stream: NodeJS.WriteStream): Style {
  const force = process.env.FORCE_COLOR;
  const on =
    process.env.NO_COLOR === undefined || process.env.NO_COLOR === ""
      ? force !== undefined && force !== ""
        ? force !== "0"
        : stream.isTTY === true
      : false;
  if (!on) return { bold: (s) => s, dim: (s) => s, arrow: (_r, s) => s };
  return {
    bold: (s) => styleText("bold", s),
    dim: (s) => styleText("dim", s),
    arrow: (r, s) => styleText(r === "client" ? "cyan" : "yellow", s),
  };
}

const CLIENT_LINE = "hello from the TypeTLS demo client\n";
const SERVER_LINE = "hello from the TypeTLS demo server\n";
const DEMO_ALPN = "typetls-demo";
const TIMEOUT_MS = 15_000;
const TLS13: number = ProtocolVersion.TLS1_3;

/** The versions a config offers, highest first: "TLSv1.3, TLSv1.2". */
function offeredVersions(c: ClientConfig): string {
  const out: string[] = [];
  for (let v = c.maxVersion; v >= c.minVersion && v >= ProtocolVersion.TLS1_2; v--) out.push(versionName(v));
  return out.join(", ");
}

/**
 * The ClientHello's fields as TLS 1.3 reads them: legacy_version is frozen at TLS 1.2 and the
 * offer is in supported_versions; the key shares (from the client's configuration) are shown too.
 */
function clientHello13Fields(
  fields: Readonly<Record<string, string>>,
  config: ClientConfig,
  retryGroup: string | undefined,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(fields)) {
    if (k === "version") {
      out.legacy_version = `${v} (frozen; the versions are in supported_versions)`;
      out.supported_versions = offeredVersions(config);
      out.key_share = retryGroup ?? config.keyShareGroups.map(groupName).join(", ");
    } else if (k === "session_id") {
      out.legacy_session_id = `${v.length / 2} random bytes (middlebox compatibility)`;
    } else {
      out[k] = v;
    }
  }
  return out;
}

export async function runDemo(argv: readonly string[], io: Output = stdio): Promise<number> {
  const { values: v, positionals } = parseCommand(argv, DEMO_OPTIONS);
  if (v.help) {
    io.out(`${DEMO_USAGE}\n`);
    return 0;
  }
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
  let maxVersion: VersionName | undefined =
    v["max-version"] !== undefined ? parseVersionArg("--max-version", v["max-version"]) : undefined;
  const minVersion: VersionName | undefined =
    v["min-version"] !== undefined ? parseVersionArg("--min-version", v["min-version"]) : undefined;
  if (v.tls12) {
    if (maxVersion !== undefined && maxVersion !== "TLSv1.2")
      throw new UsageError(`--tls12 and --max-version ${v["max-version"]} disagree`);
    maxVersion = "TLSv1.2";
  }
  const clientAuth = !v["no-client-auth"];
  const compat = !v["no-middlebox-compat"];
  const style = makeStyle(process.stdout);
  const steps: Step[] = [];

  // Both configs are made here, so that a bad option is a ConfigError (exit 2) before anything runs.
  const clientOptions: ClientOptions = {
    ca: DEMO_ROOT_CA,
    alpnProtocols: [DEMO_ALPN],
    ...(clientAuth ? { cert: DEMO_CLIENT_CERT, key: DEMO_CLIENT_KEY } : {}),
    ...(minVersion !== undefined ? { minVersion } : {}),
    ...(maxVersion !== undefined ? { maxVersion } : {}),
    ...(v.ciphers !== undefined ? { cipherSuites: splitList(v.ciphers) } : {}),
    ...(v.groups !== undefined ? { groups: splitList(v.groups) } : {}),
    ...(v["key-shares"] !== undefined ? { keyShareGroups: splitList(v["key-shares"]) } : {}),
    ...(compat ? {} : { middleboxCompatibility: false }),
  };
  const clientConfig = new ClientConfig(clientOptions);
  const serverConfig = new ServerConfig({
    cert: DEMO_SERVER_CERT,
    key: DEMO_SERVER_KEY,
    ca: DEMO_ROOT_CA,
    clientAuth: clientAuth ? "require" : "none",
    alpnProtocols: [DEMO_ALPN],
    ...(v["server-groups"] !== undefined ? { groups: splitList(v["server-groups"]) } : {}),
    ...(compat ? {} : { middleboxCompatibility: false }),
  });

  const onTrace = (role: Role) => (ev: TraceEvent) => {
    const sender = senderOf(role, ev.direction);
    if (ev.direction === "send") {
      steps.push({ sender, message: ev.message, fields: { ...ev.fields }, received: false });
      return;
    }
    // The receiver's view of the same message: the oldest one of that name not yet received.
    const s = steps.find((x) => x.sender === sender && x.message === ev.message && !x.received);
    if (s) {
      s.received = true;
      for (const [k, val] of Object.entries(ev.fields)) {
        const mine = s.fields[k];
        if (mine === undefined || val.includes(mine)) s.fields[k] = val;
        else if (!mine.includes(val)) s.fields[k] = `${mine}, ${val}`;
      }
    }
  };
  const onAlert = (role: Role) => (a: AlertEvent) => {
    if (a.sentBy !== "local") return;
    steps.push({
      ...(a.description === AlertDescription.close_notify ? { no: 15 } : {}),
      sender: role,
      message: `Alert (${a.level === AlertLevel.fatal ? "fatal" : "warning"}) ${a.name}`,
      fields: {},
      received: false,
    });
  };
  const dataStep = (sender: Role, text: string, info: HandshakeInfo | null): void => {
    const n = Buffer.byteLength(text);
    const fields: Record<string, string> = { plaintext: JSON.stringify(text), length: `${n} bytes` };
    if (info) {
      const s = info.cipherSuite;
      if (info.version === TLS13) {
        // RFC 8446 §5.2: the real content type is encrypted with the data; the header says application_data.
        fields.record = `${5 + n + 1 + 16} bytes: 5 header + ${n + 1} ciphertext (${n} data + 1 content type) + 16 tag (${s.aead})`;
      } else {
        const explicit = "explicitNonceLength" in s ? s.explicitNonceLength : 0;
        fields.record = `${5 + explicit + n + 16} bytes: 5 header${
          explicit ? ` + ${explicit} nonce` : ""
        } + ${n} ciphertext + 16 tag (${s.aead})`;
      }
    }
    steps.push({ no: 14, sender, message: "application data", fields, received: false });
  };
  const dataOf = (sender: Role): Step | undefined =>
    steps.find((x) => x.message === "application data" && x.sender === sender);

  const server = createServer({ config: serverConfig });
  let serverSock: TLSSocket | null = null;
  let serverInfo: HandshakeInfo | null = null;
  let serverError: unknown = null;
  server.on("connection", (sock: TLSSocket) => {
    serverSock = sock;
    sock.on("trace", onTrace("server"));
    sock.on("alert", onAlert("server"));
    sock.on("error", (e) => {
      serverError ??= e;
    });
    sock.once("secure", (info: HandshakeInfo) => {
      serverInfo = info;
    });
    sock.on("data", (d: Buffer) => {
      const s = dataOf("client");
      if (s) s.fields.received = JSON.stringify(d.toString("utf8"));
      if (sock.connection.connectionState !== "established") return;
      dataStep("server", SERVER_LINE, sock.info);
      sock.write(SERVER_LINE);
    });
  });

  const runClient = (port: number) =>
    new Promise<{ info: HandshakeInfo | null; error: unknown }>((resolve) => {
      let info: HandshakeInfo | null = null;
      let error: unknown = null;
      const sock = connect({ host: "127.0.0.1", port, servername: "localhost", config: clientConfig });
      const timer = setTimeout(() => {
        error ??= new Error(`the demo did not finish within ${TIMEOUT_MS / 1000} s`);
        sock.destroy();
      }, TIMEOUT_MS);
      sock.on("trace", onTrace("client"));
      sock.on("alert", onAlert("client"));
      sock.on("error", (e) => {
        error ??= e;
      });
      sock.once("secureConnect", (i: HandshakeInfo) => {
        info = i;
        dataStep("client", CLIENT_LINE, i);
        sock.write(CLIENT_LINE);
      });
      sock.on("data", (d: Buffer) => {
        const s = dataOf("server");
        if (s) s.fields.received = JSON.stringify(d.toString("utf8"));
        sock.end(); // step 15: close_notify
      });
      sock.on("close", () => {
        clearTimeout(timer);
        // Let the server side see its own close before the listener goes.
        const s = serverSock as TLSSocket | null;
        if (s && !s.destroyed) s.once("close", () => resolve({ info, error }));
        else resolve({ info, error });
      });
    });

  const port = await new Promise<number>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve(server.address().port));
  });

  let result: { info: HandshakeInfo | null; error: unknown };
  try {
    result = await runClient(port);
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  const sInfo = serverInfo as HandshakeInfo | null;
  const negotiated = (result.info ?? sInfo)?.version;
  // What was negotiated decides how the flight is read; before a ServerHello, what was offered.
  const is13 =
    negotiated !== undefined
      ? negotiated === TLS13
      : steps.some((s) => s.message === "ServerHello" && s.fields.version === "TLSv1.3") ||
        (!steps.some((s) => s.message === "ServerHello") && clientConfig.maxVersion === TLS13);

  const out: string[] = [];
  const serverLine = `server  127.0.0.1:${port}, demo certificate (ECDSA P-256), ${
    clientAuth ? "requires a client certificate" : "no client authentication"
  }`;
  const clientLine = `client  SNI localhost, trusts only the demo root${clientAuth ? ", holds the demo client certificate" : ""}`;
  if (!is13) {
    out.push(
      style.bold("TypeTLS demo: one TLS 1.2 connection between a client and a server in this process"),
      serverLine,
      clientLine,
      "",
      style.dim(
        "note: steps are numbered as in the classic SSL handshake description and listed in wire order;",
      ),
      style.dim("      RFC 5246 §7.3 sends ServerKeyExchange (5) before CertificateRequest (4)."),
      "",
    );
  } else {
    out.push(
      style.bold("TypeTLS demo: one TLS 1.3 connection between a client and a server in this process"),
      serverLine,
      clientLine,
    );
    const i = result.info ?? sInfo;
    if (i) {
      out.push(
        `result  ${i.protocol}, ${i.cipherSuite.name}, group ${
          i.group !== undefined ? groupName(i.group) : "none"
        }, hello retry ${i.helloRetry ? "yes" : "no"}`,
      );
    }
    out.push(
      "",
      style.dim("note: numbers are the steps of the classic SSL handshake description, which is TLS 1.2"),
      style.dim("      (see typetls demo --tls12). TLS 1.3 keeps most of them in a new order and drops"),
      style.dim('      6, 8, 10 and 12; "-" marks a message the 15 steps do not have. Wire order;'),
      style.dim("      RFC 8446 §4.3 sends CertificateRequest (4) before Certificate (3)."),
      "",
    );
  }

  type Epoch = "plain" | "handshake" | "application";
  const epoch: Record<Role, Epoch> = { client: "plain", server: "plain" };
  const shown = new Set<Epoch>(["plain"]);
  let clientHellos = 0;
  let retryGroup: string | undefined;
  for (const s of steps) {
    let no: number | undefined;
    let what: string | undefined;
    let note: string | undefined;
    let fields = s.fields;
    if (!is13) {
      no = s.no ?? stepNumber(s.message, s.sender);
      what = no !== undefined ? STEP_TEXT[no] : undefined;
      if (s.message === "ServerHello" && no === 2) {
        const alpn = (result.info ?? sInfo)?.alpnProtocol;
        s.fields.alpn = alpn ?? "none";
      }
    } else {
      const isCcs = s.message === "ChangeCipherSpec";
      const e: Epoch = isCcs ? "plain" : epoch[s.sender];
      if (!shown.has(e)) {
        shown.add(e);
        out.push(
          style.dim(
            e === "handshake"
              ? "    [ encrypted from here on, under the handshake keys (from the key shares of 1 and 2) ]"
              : "    [ encrypted under the application keys (from the whole handshake) ]",
          ),
        );
      }
      if (s.message === "ServerHello") {
        epoch.server = "handshake";
        epoch.client = "handshake";
      } else if (s.message === "Finished") {
        epoch[s.sender] = "application";
      }
      if (s.no !== undefined) {
        no = s.no;
        what = STEP_TEXT[s.no];
      } else {
        const r = step13(s.message, s.sender, s.message === "ClientHello" && clientHellos > 0);
        if (r) {
          no = r.no;
          what = r.text;
          note = r.note;
        }
      }
      if (s.message === "HelloRetryRequest") retryGroup = s.fields.group;
      if (s.message === "ClientHello") {
        fields = clientHello13Fields(s.fields, clientConfig, clientHellos > 0 ? retryGroup : undefined);
        clientHellos++;
      } else if (isCcs) {
        fields = {}; // the heading says what it is
      }
    }
    const num = no !== undefined ? String(no).padStart(2) : " -";
    const name = what ? s.message.padEnd(19) : s.message;
    out.push(
      `${style.bold(num)}  ${style.arrow(s.sender, arrowFor(s.sender))}  ${style.bold(name)}${
        what ? ` ${style.dim(what)}` : ""
      }`,
    );
    if (note) out.push(`      ${note}`);
    out.push(...fieldLines(fields, "      "));
  }
  out.push("");
  if (is13) {
    out.push(style.bold("not in the TLS 1.3 flight"));
    for (const [n, name, why] of goneIn13(steps.some((s) => s.message === "ChangeCipherSpec")))
      out.push(`${String(n).padStart(2)}  ${name.padEnd(19)} ${why}`);
    if (!steps.some((s) => s.message === "NewSessionTicket"))
      out.push(" -  NewSessionTicket    none: this server does not issue session tickets");
    out.push("");
  }

  const failure = result.error ?? serverError;
  if (failure !== null || !result.info) {
    out.push(`typetls: demo failed: ${failure !== null ? describeError(failure) : "no handshake"}`);
    io.out(`${out.join("\n")}\n`);
    return 1;
  }
  out.push(style.bold("summary (the client's view)"));
  for (const [k, val] of summaryFields(result.info, "client")) out.push(`  ${k}: ${val}`);
  if (sInfo) {
    out.push(
      `  client certificate (the server's view): ${peerSubject(sInfo)}${
        sInfo.peerCertificates.length > 0 ? `, verified ${sInfo.peerVerified ? "yes" : "no"}` : ""
      }`,
    );
  }
  const dataCount = steps.filter((s) => s.no === 14).length;
  const closeCount = steps.filter((s) => s.no === 15).length;
  if (!is13) {
    const handshakeCount = steps.filter((s) => {
      const n = stepNumber(s.message, s.sender);
      return n !== undefined && n <= 13;
    }).length;
    out.push(
      `  ${handshakeCount} handshake messages, ${dataCount} data records, ${closeCount} close_notify alerts`,
    );
  } else {
    const ccs = steps.filter((s) => s.message === "ChangeCipherSpec").length;
    const handshakeCount = steps.filter(
      (s) => s.no === undefined && s.message !== "ChangeCipherSpec" && !s.message.startsWith("Alert"),
    ).length;
    out.push(
      `  ${handshakeCount} handshake messages${ccs > 0 ? ` (and ${ccs} dummy ChangeCipherSpec)` : ""}, ${dataCount} data records, ${closeCount} close_notify alerts`,
    );
  }
  io.out(`${out.join("\n")}\n`);
  return 0;
}
