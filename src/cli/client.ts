/**
 * `typetls client HOST:PORT`: sends standard input over TLS, prints what comes back, and reports
 * the negotiated connection on stderr. Exit 0 when the peer closes with close_notify; 1 on any
 * failure (with the alert or the certificate error); 2 for a usage or configuration error.
 */
import { ClientConfig, type ClientOptions } from "../config.js";
import { ProtocolVersion } from "../constants.js";
import { connect } from "../node/api.js";
import type { TLSSession } from "../session/client-session.js";
import {
  CONNECTION_OPTIONS,
  OPENSSL_ALIASES,
  parseCommand,
  parseHostPort,
  splitList,
  UsageError,
} from "./args.js";
import {
  attachTrace,
  commonOptions,
  describeError,
  KeyLog,
  type Output,
  readPemFile,
  stdio,
} from "./common.js";
import { describeSession, readSessionFile, sessionUnusable, writeSessionFile } from "./session-file.js";
import { summaryLine } from "./summary.js";

export const CLIENT_USAGE = `usage: typetls client HOST:PORT [options]

Connects with TLS, sends standard input, prints what the server sends to standard output and a
one-line connection summary to standard error. Closes (close_notify) when standard input ends.
HOST may be a name, an IPv4 address or [IPv6]; the port defaults to 443.

options:
  --servername NAME        SNI and the name the certificate must match (default: HOST)
  --ca FILE                trust anchors (PEM), instead of the default roots (Mozilla's, via Node)
  --insecure               do not verify the server's certificate (says so on stderr)
  --cert FILE --key FILE   client certificate chain and key, PEM, sent when the server asks
  --min-version V          lowest TLS version: 1.2 (default) or 1.3 (also TLSv1.2, TLSv1.3)
  --max-version V          highest TLS version: 1.3 (default) or 1.2
  --ciphers LIST           cipher suites, IANA or OpenSSL names, ',' or ':' separated; TLS 1.3
                           (TLS_AES_128_GCM_SHA256 ...) and 1.2 suites may be mixed, and a list
                           without suites of one version leaves that version's at their default
  --groups LIST            key-exchange groups in preference order: X25519MLKEM768 (TLS 1.3
                           only), X25519, P-256 (prime256v1), P-384 (secp384r1)
  --key-shares LIST        TLS 1.3: the groups to send key shares for (default: X25519MLKEM768
                           and X25519); a server that wants another asks (HelloRetryRequest)
  --alpn LIST              ALPN protocols to offer (e.g. h2,http/1.1)
  --legacy-rsa-kx          also offer TLS_RSA_WITH_* (RSA key transport, no forward secrecy)
  --no-middlebox-compat    TLS 1.3 without the legacy session id and dummy ChangeCipherSpec
  --key-update             TLS 1.3: send a KeyUpdate (asking the server to update too) once the
                           first data from standard input is sent
  --sess-out FILE          save the session to FILE (one line of base64, mode 0600) to resume
                           it later; TLS 1.3 tickets come after the handshake: the newest one
                           received before the connection ends is kept. It holds a secret.
  --sess-in FILE           offer the session in FILE (from --sess-out) for resumption; a missing,
                           corrupt or expired one is a warning and a full handshake
  --trace                  print every handshake message on stderr (and session tickets)
  --keylog FILE            append NSS key log lines to FILE (default: $SSLKEYLOGFILE)
  -h, --help               this help

exit status: 0 after a clean close (the server's close_notify), 1 on a TLS or network failure,
2 on a usage or configuration error. OpenSSL-style -connect HOST:PORT, -servername, -CAfile,
-sess_out and -sess_in work too. The summary line ends with "resumed: no" or how the session was
resumed: "resumed: yes (session_id)", "yes (ticket)" (TLS 1.2) or "yes (psk_dhe_ke)" (TLS 1.3).`;

const CLIENT_OPTIONS = {
  ...CONNECTION_OPTIONS,
  connect: { type: "string" },
  servername: { type: "string" },
  insecure: { type: "boolean", short: "k" },
  "key-shares": { type: "string" },
  "sess-out": { type: "string" },
  "sess-in": { type: "string" },
} as const;

const CLIENT_ALIASES: Readonly<Record<string, string>> = {
  ...OPENSSL_ALIASES,
  sess_out: "sess-out",
  sess_in: "sess-in",
};

const TLS13: number = ProtocolVersion.TLS1_3;

export async function runClient(argv: readonly string[], io: Output = stdio): Promise<number> {
  const { values: v, positionals } = parseCommand(argv, CLIENT_OPTIONS, CLIENT_ALIASES);
  if (v.help) {
    io.out(`${CLIENT_USAGE}\n`);
    return 0;
  }
  const targets = v.connect !== undefined ? [v.connect, ...positionals] : positionals;
  if (targets.length === 0) throw new UsageError("no HOST:PORT given");
  if (targets.length > 1) throw new UsageError(`unexpected argument "${targets[1]}"`);
  const { host, port } = parseHostPort(targets[0]!, 443);
  const certs = v.cert ?? [];
  const keys = v.key ?? [];
  if (certs.length > 1 || keys.length > 1) throw new UsageError("a client takes one --cert and one --key");
  if (certs.length !== keys.length) throw new UsageError("--cert and --key go together");

  const opts: ClientOptions = { ...commonOptions(v) };
  if (v.ca !== undefined) opts.ca = readPemFile("--ca", v.ca);
  if (certs[0] !== undefined && keys[0] !== undefined) {
    opts.cert = readPemFile("--cert", certs[0]);
    opts.key = readPemFile("--key", keys[0]);
  }
  if (v.insecure) opts.rejectUnauthorized = false;
  if (v["key-shares"] !== undefined) opts.keyShareGroups = splitList(v["key-shares"]);
  const servername = v.servername ?? host;
  const keylog = KeyLog.open(v.keylog);

  // ConfigError from here propagates to main: exit 2.
  const config = new ClientConfig(opts);

  // --sess-in: anything wrong with the file is a warning, and the handshake is a full one.
  let offered: TLSSession | undefined;
  if (v["sess-in"] !== undefined) {
    const file = v["sess-in"];
    const r = readSessionFile(file);
    const problem = "problem" in r ? r.problem : sessionUnusable(r.session, config, servername);
    if (problem !== undefined) io.err(`typetls: warning: --sess-in ${file}: ${problem}; full handshake`);
    else if ("session" in r) offered = r.session;
  }

  const sock = connect({
    host,
    port,
    servername,
    config,
    ...(offered !== undefined ? { session: offered } : {}),
  });
  if (v.insecure) io.err("typetls: warning: --insecure: the server's certificate is not verified");
  if (v.trace) attachTrace(sock, "client", io);
  let newest: TLSSession | undefined;
  let received = 0;
  let saveError: string | undefined;
  sock.on("session", (t: TLSSession) => {
    received++;
    newest = t;
    if (v.trace) {
      const what = t.state.ticket.length > 0 ? "session ticket" : "session id";
      io.err(`typetls: ${what} received (lifetime ${t.state.lifetime}s)`);
    }
    // Written at once (and replaced by newer ones), so the file is there even if we are killed.
    if (v["sess-out"] !== undefined && saveError === undefined) {
      try {
        writeSessionFile(v["sess-out"], t);
      } catch (e) {
        saveError = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
      }
    }
  });
  keylog?.attach(sock);

  /** Once the connection is over: what --sess-out did. */
  const reportSaved = (): void => {
    const file = v["sess-out"];
    if (file === undefined) return;
    if (saveError !== undefined) io.err(`typetls: warning: --sess-out ${file}: ${saveError}`);
    else if (newest === undefined) {
      // Without a handshake the error says enough.
      if (sock.info)
        io.err(`typetls: warning: --sess-out ${file}: the server sent no session (no ticket, no session id)`);
    } else
      io.err(
        `typetls: session saved to ${file} (${describeSession(newest)}, ${received} received, valid until ${new Date(
          newest.expiresAt,
        ).toISOString()})`,
      );
  };

  const sendKeyUpdate = (): void => {
    if (sock.info?.version !== TLS13) {
      io.err(
        `typetls: warning: --key-update: KeyUpdate is TLS 1.3 only, not sent over ${sock.info?.protocol}`,
      );
      return;
    }
    try {
      sock.updateKeys(true);
      io.err("typetls: key update sent (update_requested)");
    } catch (e) {
      io.err(`typetls: warning: --key-update: ${describeError(e)}`);
    }
  };

  return new Promise<number>((resolve) => {
    let failure: unknown = null;
    const stdin = process.stdin;
    sock.on("error", (e) => {
      failure ??= e;
    });
    sock.on("secureConnect", () => {
      const info = sock.info;
      if (info) io.err(`typetls: ${summaryLine(info)}`);
      if (info && offered !== undefined && !info.resumed) {
        const other = offered.state.version !== info.version;
        io.err(
          `typetls: the server did not resume the ${offered.protocol} session from ${v["sess-in"]}: full handshake${
            other
              ? ` (${info.protocol} was negotiated${offered.state.version === TLS13 ? "" : "; --max-version 1.2 resumes a TLS 1.2 session"})`
              : ""
          }`,
        );
      }
      // Only now: ending before the handshake completes would abort it.
      stdin.pipe(sock);
      // After pipe()'s own 'data' listener, so the first data goes out under the old keys.
      if (v["key-update"]) stdin.once("data", () => sendKeyUpdate());
    });
    sock.on("data", (d: Buffer) => {
      if (!io.out(d) && io === stdio) {
        sock.pause(); // a slow reader on stdout slows the connection down, not memory up
        process.stdout.once("drain", () => sock.resume());
      }
    });
    sock.on("close", () => {
      stdin.unpipe(sock);
      stdin.destroy();
      keylog?.close();
      reportSaved();
      if (failure !== null) {
        io.err(`typetls: error: ${describeError(failure)}`);
        resolve(1);
      } else if (sock.truncated) {
        io.err("typetls: error: the server closed the connection without close_notify (possible truncation)");
        resolve(1);
      } else if (!sock.connection.peerClosed) {
        io.err("typetls: error: the connection closed before the server's close_notify");
        resolve(1);
      } else {
        resolve(0);
      }
    });
  });
}
