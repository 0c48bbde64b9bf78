/**
 * `typetls demo`: a client and a server in this process, on 127.0.0.1 and the embedded demo PKI,
 * with client authentication so that every step of the classic SSL handshake description appears.
 * Prints each message as it travelled (taken from both sides' 'trace' events), then the data, the
 * close and a summary. Numbers follow the article the project started from; the order is the wire's.
 */
import { styleText } from "node:util";
import { AlertDescription, AlertLevel } from "../alert.js";
import type { AlertEvent, TraceEvent } from "../connection.js";
import type { HandshakeInfo } from "../handshake/context.js";
import { connect, createServer } from "../node/api.js";
import type { TLSSocket } from "../node/socket.js";
import { arrowFor, fieldLines, type Role, senderOf } from "../trace/text.js";
import { parseCommand, splitList, UsageError } from "./args.js";
import { describeError, type Output, stdio } from "./common.js";
import {
  DEMO_CLIENT_CERT,
  DEMO_CLIENT_KEY,
  DEMO_ROOT_CA,
  DEMO_SERVER_CERT,
  DEMO_SERVER_KEY,
} from "./demo-certs.js";
import { peerSubject, summaryFields } from "./summary.js";

export const DEMO_USAGE = `usage: typetls demo [--ciphers LIST] [--groups LIST] [--no-client-auth]

Runs a TLS 1.2 client and server in this process over 127.0.0.1 with the embedded demo
certificates (client authentication on), and prints every handshake message in the order it
travels, numbered as in the classic description of the SSL handshake (steps 1 to 15).

options:
  --ciphers LIST     cipher suites the client offers (IANA or OpenSSL names)
  --groups LIST      key-exchange groups the client offers (X25519, P-256, P-384)
  --no-client-auth   do not ask for a client certificate (steps 4, 7 and 9 disappear)
  -h, --help         this help`;

const DEMO_OPTIONS = {
  help: { type: "boolean", short: "h" },
  ciphers: { type: "string" },
  groups: { type: "string" },
  "no-client-auth": { type: "boolean" },
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

/** The article's number for a message sent by `sender`. */
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

interface Step {
  no: number | undefined;
  sender: Role;
  message: string;
  /** Fields from the sender's trace, then what the receiver saw (e.g. whether a chain verified). */
  fields: Record<string, string>;
  received: boolean;
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

export async function runDemo(argv: readonly string[], io: Output = stdio): Promise<number> {
  const { values: v, positionals } = parseCommand(argv, DEMO_OPTIONS);
  if (v.help) {
    io.out(`${DEMO_USAGE}\n`);
    return 0;
  }
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
  const clientAuth = !v["no-client-auth"];
  const style = makeStyle(process.stdout);
  const steps: Step[] = [];

  const onTrace = (role: Role) => (ev: TraceEvent) => {
    const sender = senderOf(role, ev.direction);
    if (ev.direction === "send") {
      steps.push({
        no: stepNumber(ev.message, sender),
        sender,
        message: ev.message,
        fields: { ...ev.fields },
        received: false,
      });
      return;
    }
    // The receiver's view of the same message: the oldest one of that name not yet received.
    const s = steps.find((x) => x.sender === sender && x.message === ev.message && !x.received);
    if (s) {
      s.received = true;
      for (const [k, val] of Object.entries(ev.fields)) {
        const mine = s.fields[k];
        s.fields[k] = mine === undefined || val.includes(mine) ? val : `${mine}, ${val}`;
      }
    }
  };
  const onAlert = (role: Role) => (a: AlertEvent) => {
    if (a.sentBy !== "local") return;
    steps.push({
      no: a.description === AlertDescription.close_notify ? 15 : undefined,
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
      fields.record = `${5 + s.explicitNonceLength + n + 16} bytes: 5 header${
        s.explicitNonceLength ? ` + ${s.explicitNonceLength} nonce` : ""
      } + ${n} ciphertext + 16 tag (${s.aead})`;
    }
    steps.push({ no: 14, sender, message: "application data", fields, received: false });
  };

  const server = createServer({
    cert: DEMO_SERVER_CERT,
    key: DEMO_SERVER_KEY,
    ca: DEMO_ROOT_CA,
    clientAuth: clientAuth ? "require" : "none",
    alpnProtocols: [DEMO_ALPN],
  });
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
      const s = steps.find((x) => x.no === 14 && x.sender === "client");
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
      const sock = connect({
        host: "127.0.0.1",
        port,
        servername: "localhost",
        ca: DEMO_ROOT_CA,
        alpnProtocols: [DEMO_ALPN],
        ...(clientAuth ? { cert: DEMO_CLIENT_CERT, key: DEMO_CLIENT_KEY } : {}),
        ...(v.ciphers !== undefined ? { cipherSuites: splitList(v.ciphers) } : {}),
        ...(v.groups !== undefined ? { groups: splitList(v.groups) } : {}),
      });
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
        const s = steps.find((x) => x.no === 14 && x.sender === "server");
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

  const out: string[] = [];
  out.push(
    style.bold("TypeTLS demo: one TLS 1.2 connection between a client and a server in this process"),
    `server  127.0.0.1:${port}, demo certificate (ECDSA P-256), ${
      clientAuth ? "requires a client certificate" : "no client authentication"
    }`,
    `client  SNI localhost, trusts only the demo root${clientAuth ? ", holds the demo client certificate" : ""}`,
    "",
    style.dim(
      "note: steps are numbered as in the classic SSL handshake description and listed in wire order;",
    ),
    style.dim("      RFC 5246 §7.3 sends ServerKeyExchange (5) before CertificateRequest (4)."),
    "",
  );
  for (const s of steps) {
    if (s.message === "ServerHello" && s.no === 2) {
      const alpn = (result.info ?? serverInfo)?.alpnProtocol;
      s.fields.alpn = alpn ?? "none";
    }
    const no = s.no !== undefined ? String(s.no).padStart(2) : " -";
    const what = s.no !== undefined ? STEP_TEXT[s.no] : undefined;
    const name = what ? s.message.padEnd(19) : s.message;
    out.push(
      `${style.bold(no)}  ${style.arrow(s.sender, arrowFor(s.sender))}  ${style.bold(name)}${
        what ? ` ${style.dim(what)}` : ""
      }`,
    );
    out.push(...fieldLines(s.fields, "      "));
  }
  out.push("");

  const failure = result.error ?? serverError;
  if (failure !== null || !result.info) {
    out.push(`typetls: demo failed: ${failure !== null ? describeError(failure) : "no handshake"}`);
    io.out(`${out.join("\n")}\n`);
    return 1;
  }
  out.push(style.bold("summary (the client's view)"));
  for (const [k, val] of summaryFields(result.info, "client")) out.push(`  ${k}: ${val}`);
  const sInfo = serverInfo as HandshakeInfo | null;
  if (sInfo) {
    out.push(
      `  client certificate (the server's view): ${peerSubject(sInfo)}${
        sInfo.peerCertificates.length > 0 ? `, verified ${sInfo.peerVerified ? "yes" : "no"}` : ""
      }`,
    );
  }
  const handshakeCount = steps.filter((s) => s.no !== undefined && s.no <= 13).length;
  out.push(
    `  ${handshakeCount} handshake messages, ${steps.filter((s) => s.no === 14).length} data records, ${
      steps.filter((s) => s.no === 15).length
    } close_notify alerts`,
  );
  io.out(`${out.join("\n")}\n`);
  return 0;
}
