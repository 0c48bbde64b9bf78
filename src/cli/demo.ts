/**
 * `typetls demo`: a client and a server in this process, on 127.0.0.1 and the embedded demo PKI,
 * with client authentication so that every step of the classic SSL handshake description appears.
 * Prints each message as it travelled (taken from both sides' 'trace' events), then the data, the
 * close and a summary. Numbers follow the article the project started from (its 15 steps describe
 * TLS 1.2); the order is the wire's. TLS 1.3, the default, is shown against the same numbers: which
 * step each 1.3 message stands for, which messages are new and which steps are gone. With
 * --resume a second connection resumes the first one's session (the description's last paragraph:
 * "Saving SSL session parameters allows encrypted communication to begin much more quickly"), and
 * the demo shows its abbreviated flight and the steps it skips.
 */
import { styleText } from "node:util";
import { AlertDescription, AlertLevel } from "../alert.js";
import { ClientConfig, type ClientOptions, ServerConfig, type VersionName } from "../config.js";
import type { AlertEvent, TraceEvent } from "../connection.js";
import { groupName, ProtocolVersion, versionName } from "../constants.js";
import type { HandshakeInfo } from "../handshake/context.js";
import { connect, createServer, type TLSServer } from "../node/api.js";
import type { TLSSocket } from "../node/socket.js";
import type { TLSSession } from "../session/client-session.js";
import { suite13ById } from "../suites.js";
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

export const DEMO_USAGE = `usage: typetls demo [--tls12] [--resume] [--ciphers LIST] [--groups LIST] [--key-shares LIST]
                   [--server-groups LIST] [--no-client-auth] [--no-middlebox-compat] [--no-tickets]

Runs a TLS client and server in this process over 127.0.0.1 with the embedded demo certificates
(client authentication on), and prints every handshake message in the order it travels, numbered
as in the classic description of the SSL handshake (steps 1 to 15, which describe TLS 1.2).
TLS 1.3 is the default: each 1.3 message is shown with the step it stands for, new messages are
marked "-", and the steps TLS 1.3 dropped are listed with the reason.

options:
  --tls12                  run TLS 1.2, the flight the 15 steps describe (= --max-version 1.2)
  --resume                 then a second connection that resumes the session of the first (the
                           description's last paragraph): its abbreviated flight, and which steps
                           it skips and why
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
  --no-tickets             the server issues no session tickets: TLS 1.2 then resumes by session
                           id (the server's session cache), TLS 1.3 cannot resume
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
  resume: { type: "boolean" },
  "no-tickets": { type: "boolean" },
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
  /** Lines under the heading: what the message carries in place of another step. */
  notes?: string[];
}

/**
 * The TLS 1.3 reading of a message sent by `sender`. `again` marks the ClientHello after a
 * HelloRetryRequest; `resumed`, a handshake that resumes a session with a ticket (PSK).
 */
export function step13(message: string, sender: Role, again = false, resumed = false): Step13 | undefined {
  switch (message) {
    case "ClientHello":
      if (again) return { no: 1, text: "again, with a key share for the group the server asked for" };
      return resumed
        ? {
            no: 1,
            text: "what the client supports, and the ticket to resume",
            notes: [
              "+ pre_shared_key: the ticket from the first connection, and a binder (an HMAC that",
              "  proves the client holds the ticket's key)",
              "+ key_share: a new key exchange all the same (psk_dhe_ke: forward secrecy)",
            ],
          }
        : {
            no: 1,
            text: STEP_TEXT[1]!,
            notes: ["+ key_share: the client's half of the key exchange (in place of step 8)"],
          };
    case "HelloRetryRequest":
      return { no: undefined, text: "new in 1.3: no usable key share; asks for another group" };
    case "ServerHello":
      return resumed
        ? {
            no: 2,
            text: "the server accepts the ticket and picks the group",
            notes: [
              "+ pre_shared_key: the ticket is accepted; the handshake keys come from its key",
              "  and the new shared secret of the key shares",
            ],
          }
        : {
            no: 2,
            text: "the server picks the version, the suite and the group",
            notes: ["+ key_share: the server's half (in place of 5); both now derive the handshake keys"],
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
      return {
        no: undefined,
        text: resumed
          ? "after the handshake: a new ticket for the next connection"
          : "after the handshake: a ticket to resume this session later",
        notes: [
          "+ the saved session parameters of the description's last paragraph (RFC 8446 §4.6.1),",
          "  encrypted under the server's application keys",
        ],
      };
    case "KeyUpdate":
      return { no: undefined, text: "after the handshake: new traffic keys for this direction" };
    default:
      return undefined;
  }
}

/** The TLS 1.2 NewSessionTicket (RFC 5077), sent inside the handshake. */
function ticket12(resumed: boolean): Step13 {
  return {
    no: undefined,
    text: resumed
      ? "RFC 5077: a renewed ticket for the next time"
      : "RFC 5077: the saved session parameters of the description's last paragraph",
    notes: [
      "+ sent before the server's ChangeCipherSpec (12), so in the clear; the ticket inside is",
      "  sealed with the server's ticket key, which only the server (or its fleet) holds",
    ],
  };
}

/** What the messages of the resumed TLS 1.2 flight do (the numbers stay the 15 steps'). */
function resumedText12(message: string, sender: Role): { text: string; notes?: string[] } | undefined {
  switch (message) {
    case "ClientHello":
      return { text: "what the client supports, and the session to resume" };
    case "ServerHello":
      return {
        text: "the server resumes: same session id, the saved suite",
        notes: [
          "+ the session id of the ClientHello echoed: an abbreviated handshake (RFC 5246 §7.3);",
          "  the keys come from the saved master secret and the two new randoms",
        ],
      };
    case "ChangeCipherSpec":
      return { text: STEP_TEXT[sender === "client" ? 10 : 12]! };
    case "Finished":
      return sender === "server"
        ? { text: "the server's MAC of the handshake, first this time" }
        : { text: "the client's MAC of the handshake: handshake done" };
    default:
      return undefined;
  }
}

/** Why the resumed flight does without a step (TLS 1.2), by the step's number. */
const SKIPPED_12: Record<number, string> = {
  3: "the server's chain was checked in the first connection; the session remembers it",
  4: "the client's chain is remembered too: no request",
  5: "no key exchange: the keys come from the saved master secret",
  6: "the server's flight ends with its Finished (13)",
  7: "remembered from the first connection (see 4)",
  8: "no key exchange (see 5)",
  9: "no signature: knowing the saved master secret is the proof",
};

/** Why the resumed TLS 1.3 flight does without a message, by "sender message". */
const SKIPPED_13: Record<string, [string, string]> = {
  "server CertificateRequest": [" 4", "none with a ticket (RFC 8446 §4.3.2): the client is remembered"],
  "server Certificate": [" 3", "the ticket stands for the server proven in the first connection"],
  "server CertificateVerify": [" -", "no signature from the server (see 3)"],
  "client Certificate": [" 7", "remembered from the first connection"],
  "client CertificateVerify": [" 9", "no signature from the client (see 7)"],
};

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

/** One connection of the demo, as both sides traced it. */
class Run {
  readonly steps: Step[] = [];
  info: HandshakeInfo | null = null;
  serverInfo: HandshakeInfo | null = null;
  error: unknown = null;
  serverError: unknown = null;
  /** The newest session the client received (TLS 1.3 tickets come after the handshake). */
  session: TLSSession | undefined;
  serverSock: TLSSocket | null = null;

  onTrace(role: Role): (ev: TraceEvent) => void {
    return (ev) => {
      const sender = senderOf(role, ev.direction);
      if (ev.direction === "send") {
        this.steps.push({ sender, message: ev.message, fields: { ...ev.fields }, received: false });
        return;
      }
      // The receiver's view of the same message: the oldest one of that name not yet received.
      const s = this.steps.find((x) => x.sender === sender && x.message === ev.message && !x.received);
      if (s) {
        s.received = true;
        for (const [k, val] of Object.entries(ev.fields)) {
          const mine = s.fields[k];
          if (mine === undefined || val.includes(mine)) s.fields[k] = val;
          else if (!mine.includes(val)) s.fields[k] = `${mine}, ${val}`;
        }
      }
    };
  }

  onAlert(role: Role): (a: AlertEvent) => void {
    return (a) => {
      if (a.sentBy !== "local") return;
      this.steps.push({
        ...(a.description === AlertDescription.close_notify ? { no: 15 } : {}),
        sender: role,
        message: `Alert (${a.level === AlertLevel.fatal ? "fatal" : "warning"}) ${a.name}`,
        fields: {},
        received: false,
      });
    };
  }

  dataStep(sender: Role, text: string, info: HandshakeInfo | null): void {
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
    this.steps.push({ no: 14, sender, message: "application data", fields, received: false });
  }

  dataOf(sender: Role): Step | undefined {
    return this.steps.find((x) => x.message === "application data" && x.sender === sender);
  }

  /** The server's side of this connection. */
  attachServer(sock: TLSSocket): void {
    this.serverSock = sock;
    sock.on("trace", this.onTrace("server"));
    sock.on("alert", this.onAlert("server"));
    sock.on("error", (e) => {
      this.serverError ??= e;
    });
    sock.once("secure", (info: HandshakeInfo) => {
      this.serverInfo = info;
    });
    sock.on("data", (d: Buffer) => {
      const s = this.dataOf("client");
      if (s) s.fields.received = JSON.stringify(d.toString("utf8"));
      if (sock.connection.connectionState !== "established") return;
      this.dataStep("server", SERVER_LINE, sock.info);
      sock.write(SERVER_LINE);
    });
  }

  /** The client's side: connects, sends a line, closes after the answer. */
  runClient(port: number, config: ClientConfig, session: TLSSession | undefined): Promise<void> {
    return new Promise<void>((resolve) => {
      const sock = connect({
        host: "127.0.0.1",
        port,
        servername: "localhost",
        config,
        ...(session !== undefined ? { session } : {}),
      });
      const timer = setTimeout(() => {
        this.error ??= new Error(`the demo did not finish within ${TIMEOUT_MS / 1000} s`);
        sock.destroy();
      }, TIMEOUT_MS);
      sock.on("trace", this.onTrace("client"));
      sock.on("alert", this.onAlert("client"));
      sock.on("error", (e) => {
        this.error ??= e;
      });
      sock.on("session", (t: TLSSession) => {
        this.session = t;
      });
      sock.once("secureConnect", (i: HandshakeInfo) => {
        this.info = i;
        this.dataStep("client", CLIENT_LINE, i);
        sock.write(CLIENT_LINE);
      });
      sock.on("data", (d: Buffer) => {
        const s = this.dataOf("server");
        if (s) s.fields.received = JSON.stringify(d.toString("utf8"));
        sock.end(); // step 15: close_notify
      });
      sock.on("close", () => {
        clearTimeout(timer);
        // Let the server side see its own close before the next connection (or the end).
        const s = this.serverSock;
        if (s && !s.destroyed) s.once("close", () => resolve());
        else resolve();
      });
    });
  }

  get failure(): unknown {
    return this.error ?? this.serverError;
  }
}

/** What the flight renderer needs to know about the demo. */
interface FlightContext {
  is13: boolean;
  style: Style;
  clientConfig: ClientConfig;
  /** The session the client offered, when this connection resumed it. */
  resumedFrom: TLSSession | undefined;
}

/** The numbered lines of one connection's messages. */
function renderFlight(run: Run, c: FlightContext): string[] {
  const { style } = c;
  const out: string[] = [];
  const resumed = c.resumedFrom !== undefined && run.info?.resumed === true;
  type Epoch = "plain" | "handshake" | "application";
  const epoch: Record<Role, Epoch> = { client: "plain", server: "plain" };
  const shown = new Set<Epoch>(["plain"]);
  let clientHellos = 0;
  let retryGroup: string | undefined;
  for (const s of run.steps) {
    let no: number | undefined;
    let what: string | undefined;
    let notes: string[] | undefined;
    let fields = s.fields;
    if (!c.is13) {
      no = s.no ?? stepNumber(s.message, s.sender);
      what = no !== undefined ? STEP_TEXT[no] : undefined;
      if (s.message === "NewSessionTicket") {
        const t = ticket12(resumed);
        what = t.text;
        notes = t.notes;
      } else if (resumed && s.no === undefined) {
        const r = resumedText12(s.message, s.sender);
        if (r) {
          what = r.text;
          notes = r.notes;
        }
      }
      if (s.message === "ServerHello" && no === 2) {
        const alpn = (run.info ?? run.serverInfo)?.alpnProtocol;
        s.fields.alpn = alpn ?? "none";
        if (resumed) s.fields.session_id = "the same as the ClientHello's";
      }
      if (s.message === "ClientHello" && c.resumedFrom !== undefined) {
        notes = clientHello12ResumeNotes(c.resumedFrom);
        const ticket = c.resumedFrom.state.ticket.length;
        if (ticket > 0) fields = { ...s.fields, session_ticket: `${ticket} bytes` };
      }
    } else {
      const isCcs = s.message === "ChangeCipherSpec";
      const e: Epoch = isCcs ? "plain" : epoch[s.sender];
      if (!shown.has(e)) {
        shown.add(e);
        out.push(
          style.dim(
            e === "handshake"
              ? resumed
                ? "    [ encrypted from here on, under the handshake keys (from the ticket's key and the key shares) ]"
                : "    [ encrypted from here on, under the handshake keys (from the key shares of 1 and 2) ]"
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
        const again = s.message === "ClientHello" && clientHellos > 0;
        const r = step13(s.message, s.sender, again, resumed);
        if (r) {
          no = r.no;
          what = r.text;
          notes = r.notes;
        }
      }
      if (s.message === "HelloRetryRequest") retryGroup = s.fields.group;
      if (s.message === "ClientHello") {
        fields = clientHello13Fields(s.fields, c.clientConfig, clientHellos > 0 ? retryGroup : undefined);
        if (c.resumedFrom !== undefined && "resumption" in fields) {
          const { resumption: _offered, ...rest } = fields;
          const suite = suite13ById(c.resumedFrom.state.cipherSuite);
          const binder = suite?.hash === "sha384" ? 48 : 32;
          fields = {
            ...rest,
            pre_shared_key: `1 identity: the ticket (${c.resumedFrom.state.ticket.length} bytes), binder ${binder} bytes`,
          };
        }
        clientHellos++;
      } else if (s.message === "ServerHello" && fields.resumption !== undefined) {
        const { resumption, ...rest } = fields;
        fields = { ...rest, pre_shared_key: `identity 0 accepted (${resumption})` };
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
    for (const n of notes ?? []) out.push(`      ${n}`);
    out.push(...fieldLines(fields, "      "));
  }
  return out;
}

/** What the resuming TLS 1.2 ClientHello carries, under its heading. */
function clientHello12ResumeNotes(session: TLSSession): string[] {
  if (session.state.ticket.length > 0)
    return [
      "+ session_ticket: the saved session, sealed by the server (the first connection's",
      "  NewSessionTicket); and a fresh session_id, echoed if the server takes the ticket (RFC 5077 §3.4)",
    ];
  return ["+ session_id: the saved session's id, from the first connection's ServerHello"];
}

/** Steps of the first flight that the resumed one does not have, with why. */
function skippedLines(first: Run, second: Run, is13: boolean): string[] {
  const out: string[] = [];
  if (!is13) {
    const numbers = (r: Run): Set<number> =>
      new Set(
        r.steps
          .map((s) => s.no ?? stepNumber(s.message, s.sender))
          .filter((n): n is number => n !== undefined),
      );
    const had = numbers(first);
    const has = numbers(second);
    for (const [n, why] of Object.entries(SKIPPED_12)) {
      const no = Number(n);
      if (!had.has(no) || has.has(no)) continue;
      const message = first.steps.find((s) => stepNumber(s.message, s.sender) === no)?.message ?? "";
      out.push(`${String(no).padStart(2)}  ${message.padEnd(19)} ${why}`);
    }
    out.push(
      "    The server's ChangeCipherSpec and Finished (12, 13) come first: the client can send",
      "    data after one round trip instead of two, with no key exchange and no signature.",
    );
  } else {
    const key = (s: Step): string => `${s.sender} ${s.message}`;
    const had = new Set(first.steps.map(key));
    const has = new Set(second.steps.map(key));
    for (const [k, [no, why]] of Object.entries(SKIPPED_13)) {
      if (!had.has(k) || has.has(k)) continue;
      out.push(`${no}  ${k.slice(k.indexOf(" ") + 1).padEnd(19)} ${why}`);
    }
    out.push(
      "    Still there: a new key exchange (psk_dhe_ke) and the one round trip of TLS 1.3; what",
      "    resumption saves is the certificates, the signatures and the chain checks. (0-RTT early",
      "    data saves the round trip too: opt-in, since it can be replayed; see --max-early-data.)",
    );
  }
  return out;
}

/** The summary of one connection, from the client's view (and the server's client certificate). */
function summaryLines(run: Run, is13: boolean, style: Style, title: string): string[] {
  const out: string[] = [style.bold(title)];
  const info = run.info;
  if (!info) return out;
  for (const [k, val] of summaryFields(info, "client")) out.push(`  ${k}: ${val}`);
  const sInfo = run.serverInfo;
  if (sInfo) {
    out.push(
      `  client certificate (the server's view): ${peerSubject(sInfo)}${
        sInfo.peerCertificates.length > 0 ? `, verified ${sInfo.peerVerified ? "yes" : "no"}` : ""
      }${sInfo.resumed && sInfo.peerCertificates.length > 0 ? " (remembered from the first connection)" : ""}`,
    );
  }
  const steps = run.steps;
  const dataCount = steps.filter((s) => s.no === 14).length;
  const closeCount = steps.filter((s) => s.no === 15).length;
  const tickets = steps.filter((s) => s.message === "NewSessionTicket").length;
  const ticketText =
    tickets === 0 ? "" : tickets === 1 ? "a NewSessionTicket" : `${tickets} NewSessionTickets`;
  if (!is13) {
    const handshakeCount = steps.filter((s) => {
      const n = stepNumber(s.message, s.sender);
      return n !== undefined && n <= 13;
    }).length;
    out.push(
      `  ${handshakeCount} handshake messages${ticketText ? ` and ${ticketText}` : ""}, ${dataCount} data records, ${closeCount} close_notify alerts`,
    );
  } else {
    const ccs = steps.filter((s) => s.message === "ChangeCipherSpec").length;
    const handshakeCount = steps.filter(
      (s) =>
        s.no === undefined &&
        s.message !== "ChangeCipherSpec" &&
        s.message !== "NewSessionTicket" &&
        !s.message.startsWith("Alert"),
    ).length;
    out.push(
      `  ${handshakeCount} handshake messages${ccs > 0 ? ` (and ${ccs} dummy ChangeCipherSpec)` : ""}${
        ticketText ? `, ${ticketText} after the handshake` : ""
      }, ${dataCount} data records, ${closeCount} close_notify alerts`,
    );
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
  const resume = v.resume === true;
  const style = makeStyle(process.stdout);

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
    ...(v["no-tickets"] ? { sessionTickets: false } : {}),
  });

  // One server for both connections: its session cache and ticket keys carry the session over.
  const server: TLSServer = createServer({ config: serverConfig });
  let current: Run | null = null;
  server.on("connection", (sock: TLSSocket) => current?.attachServer(sock));
  const port = await new Promise<number>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve(server.address().port));
  });

  const first = new Run();
  let second: Run | null = null;
  let offered: TLSSession | undefined;
  try {
    current = first;
    await first.runClient(port, clientConfig, undefined);
    if (resume && first.failure === null && first.session !== undefined) {
      offered = first.session;
      second = new Run();
      current = second;
      await second.runClient(port, clientConfig, offered);
    }
  } finally {
    current = null;
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  const sInfo = first.serverInfo;
  const negotiated = (first.info ?? sInfo)?.version;
  // What was negotiated decides how the flight is read; before a ServerHello, what was offered.
  const is13 =
    negotiated !== undefined
      ? negotiated === TLS13
      : first.steps.some((s) => s.message === "ServerHello" && s.fields.version === "TLSv1.3") ||
        (!first.steps.some((s) => s.message === "ServerHello") && clientConfig.maxVersion === TLS13);
  const version = is13 ? "TLS 1.3" : "TLS 1.2";

  const out: string[] = [];
  const serverLine = `server  127.0.0.1:${port}, demo certificate (ECDSA P-256), ${
    clientAuth ? "requires a client certificate" : "no client authentication"
  }`;
  const clientLine = `client  SNI localhost, trusts only the demo root${clientAuth ? ", holds the demo client certificate" : ""}`;
  out.push(
    style.bold(
      resume
        ? `TypeTLS demo: a ${version} connection in this process, then a second one that resumes its session`
        : `TypeTLS demo: one ${version} connection between a client and a server in this process`,
    ),
    serverLine,
    clientLine,
  );
  if (!is13) {
    out.push(
      "",
      style.dim(
        "note: steps are numbered as in the classic SSL handshake description and listed in wire order;",
      ),
      style.dim("      RFC 5246 §7.3 sends ServerKeyExchange (5) before CertificateRequest (4)."),
      "",
    );
  } else {
    const i = first.info ?? sInfo;
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
  if (resume) out.push(style.bold("first connection: a full handshake"));
  out.push(...renderFlight(first, { is13, style, clientConfig, resumedFrom: undefined }), "");
  if (is13) {
    out.push(style.bold("not in the TLS 1.3 flight"));
    for (const [n, name, why] of goneIn13(first.steps.some((s) => s.message === "ChangeCipherSpec")))
      out.push(`${String(n).padStart(2)}  ${name.padEnd(19)} ${why}`);
    if (!first.steps.some((s) => s.message === "NewSessionTicket"))
      out.push(" -  NewSessionTicket    none: this server does not issue session tickets");
    out.push("");
  }

  const firstFailure = first.failure;
  if (firstFailure !== null || !first.info) {
    out.push(`typetls: demo failed: ${firstFailure !== null ? describeError(firstFailure) : "no handshake"}`);
    io.out(`${out.join("\n")}\n`);
    return 1;
  }
  out.push(
    ...summaryLines(
      first,
      is13,
      style,
      resume ? "summary of the first connection (the client's view)" : "summary (the client's view)",
    ),
  );
  if (!resume) {
    io.out(`${out.join("\n")}\n`);
    return 0;
  }

  out.push("");
  if (second === null || offered === undefined) {
    out.push(
      style.bold("second connection: none"),
      is13
        ? "  the server issued no session ticket (--no-tickets), and TLS 1.3 resumes only with one"
        : "  the server issued neither a session ticket nor a session id: nothing to resume",
    );
    io.out(`${out.join("\n")}\n`);
    return 0;
  }
  const how = second.info?.resumedWith;
  out.push(
    style.bold(
      second.info?.resumed
        ? `second connection: resumes the session of the first (${how === "session_id" ? "by session id, from the server's session cache" : how === "ticket" ? "with the RFC 5077 ticket" : `with the ticket as a PSK, ${how}`})`
        : "second connection: the session was offered, but the server did a full handshake",
    ),
    style.dim("the description's last paragraph: \"Saving SSL session parameters allows encrypted"),
    style.dim('communication to begin much more quickly."'),
    "",
  );
  out.push(...renderFlight(second, { is13, style, clientConfig, resumedFrom: offered }), "");
  const failure = second.failure;
  if (failure !== null || !second.info) {
    out.push(`typetls: demo failed: ${failure !== null ? describeError(failure) : "no handshake"}`);
    io.out(`${out.join("\n")}\n`);
    return 1;
  }
  if (second.info.resumed) {
    out.push(style.bold("skipped when resuming"), ...skippedLines(first, second, is13), "");
  }
  out.push(...summaryLines(second, is13, style, "summary of the second connection (the client's view)"));
  io.out(`${out.join("\n")}\n`);
  return 0;
}
