/**
 * `typetls server`: a TLS server that echoes what each connection sends, or with --www answers an
 * HTTP request with a plain-text summary of the connection. Serves connections concurrently until
 * SIGINT/SIGTERM; a failing connection is reported on stderr and never stops the server.
 */
import type { CertKeyPair, ClientAuthMode, ServerOptions } from "../config.js";
import { ConfigError, ServerConfig } from "../config.js";
import { ProtocolVersion } from "../constants.js";
import { nodeCrypto } from "../crypto/node.js";
import { createServer, type TLSServer } from "../node/api.js";
import type { TLSSocket } from "../node/socket.js";
import { createSessionStoreFromUrl } from "../session/store-url.js";
import { TicketKeyRing } from "../session/ticket-keys.js";
import { CONNECTION_OPTIONS, OPENSSL_ALIASES, parseCommand, parsePort, UsageError } from "./args.js";
import {
  attachTrace,
  commonOptions,
  describeError,
  KeyLog,
  type Output,
  RateLimitedLog,
  readPemFile,
  stdio,
} from "./common.js";
import { summaryText } from "./summary.js";
import { TicketKeyFile } from "./ticket-keys-file.js";

export const SERVER_USAGE = `usage: typetls server --port N [--host 127.0.0.1] --cert FILE --key FILE [options]

Serves TLS on HOST:PORT. Each connection gets back what it sends (echo), or with --www an
HTTP/1.0 page describing the connection. Prints "listening on HOST:PORT" once ready; runs until
SIGINT or SIGTERM.

options:
  --port N                 port to listen on; 0 picks a free one (required)
  --host ADDR              address to bind (default 127.0.0.1)
  --cert FILE --key FILE   certificate chain (leaf first) and its key, PEM; repeat for several
                           (chosen by SNI, then by what the client can verify: the TLS 1.2
                           suite, RSA or ECDSA, or in TLS 1.3 its signature algorithms)
  --ca FILE                trust anchors for client certificates (PEM)
  --verify-client MODE     none (default), request or require
  --min-version V          lowest TLS version: 1.2 (default) or 1.3 (also TLSv1.2, TLSv1.3)
  --max-version V          highest TLS version: 1.3 (default) or 1.2
  --ciphers LIST           cipher suites, IANA or OpenSSL names, ',' or ':' separated; TLS 1.3
                           (TLS_AES_128_GCM_SHA256 ...) and 1.2 suites may be mixed, and a list
                           without suites of one version leaves that version's at their default
  --groups LIST            key-exchange groups in preference order: X25519MLKEM768 (TLS 1.3
                           only), X25519, P-256 (prime256v1), P-384 (secp384r1); a TLS 1.3 client
                           with no key share for any of them is asked for one (HelloRetryRequest)
  --alpn LIST              ALPN protocols in preference order (e.g. h2,http/1.1)
  --legacy-rsa-kx          also allow TLS_RSA_WITH_* (RSA key transport, no forward secrecy)
  --no-middlebox-compat    TLS 1.3: no dummy ChangeCipherSpec (RFC 8446 §D.4)
  --key-update             echo mode, TLS 1.3: send a KeyUpdate (asking the client to update too)
                           after the first data received on each connection
  --www                    answer an HTTP request with a summary of the connection
                           (HTTP/1.0: offer http/1.1, not h2, with --alpn), including
                           "resumed: no" or "resumed: yes (session_id|ticket|psk_dhe_ke)"

session resumption (on by default: TLS 1.2 session ids and RFC 5077 tickets, TLS 1.3 tickets):
  --ticket-keys FILE       the keys that seal session tickets, as JSON; created (mode 0600) with
                           a fresh key if missing. Servers sharing FILE resume each other's tickets
  --ticket-rotate SECONDS  make a new ticket key that often (keeping the 2 previous ones, so a
                           ticket lives up to 3 periods) and rewrite FILE; other servers sharing
                           FILE follow it
  --session-lifetime SECONDS  how long a session may be resumed (default 7200, at most 604800)
  --no-tickets             issue and accept no session tickets (TLS 1.3 then cannot resume)
  --no-session-ids         TLS 1.2: no session ids (no server-side session cache)
  --single-use-tickets     a ticket resumes at most once (recorded in the session store)
  --max-early-data BYTES   TLS 1.3 0-RTT: accept up to BYTES of early data from resuming clients
                           (only on a ticket's first use; default 0 = off). Early data can be
                           replayed: the --www page and --trace say when data came early
  --session-store URL      where sessions live: memory: (default, this process) or
                           redis://HOST:PORT (shared by a fleet; it may share ticket keys too).
                           A failing store is reported (one line a second at most) and the
                           handshakes fall back to full ones
  --handshake-timeout SECONDS  drop a client whose handshake is not done by then (default 60)
  --trace                  print every handshake message on stderr
  --keylog FILE            append NSS key log lines to FILE (default: $SSLKEYLOGFILE)
  -h, --help               this help

OpenSSL-style single-dash options (-port, -cert, -CAfile, -accept, -no_ticket) are accepted too.`;

const SERVER_OPTIONS = {
  ...CONNECTION_OPTIONS,
  port: { type: "string" },
  host: { type: "string" },
  "verify-client": { type: "string" },
  www: { type: "boolean" },
  "ticket-keys": { type: "string" },
  "ticket-rotate": { type: "string" },
  "session-lifetime": { type: "string" },
  "no-tickets": { type: "boolean" },
  "no-session-ids": { type: "boolean" },
  "single-use-tickets": { type: "boolean" },
  "max-early-data": { type: "string" },
  "session-store": { type: "string" },
  "handshake-timeout": { type: "string" },
} as const;

/** A whole number of seconds, at least 1. */
function parseSeconds(option: string, v: string): number {
  if (!/^\d{1,9}$/.test(v) || Number(v) < 1)
    throw new UsageError(`${option}: expected seconds (1 or more), not "${v}"`);
  return Number(v);
}

const TLS13: number = ProtocolVersion.TLS1_3;

/** The request head of --www may not be larger than this. */
const MAX_REQUEST_HEAD = 16 * 1024;
/** A --www client that has not sent its request head by then is dropped. */
const REQUEST_TIMEOUT_MS = 30_000;

function clientAuthMode(v: string | undefined): ClientAuthMode {
  if (v === undefined) return "none";
  if (v === "none" || v === "request" || v === "require") return v;
  throw new UsageError(`--verify-client: expected none, request or require, not "${v}"`);
}

function formatAddress(host: string, port: number): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}

/** Answers one HTTP request (head read up to the blank line) with the connection summary. */
function serveWww(sock: TLSSocket, warn: (line: string) => void): void {
  let head = "";
  let answered = false;
  const timer = setTimeout(() => {
    if (!answered) sock.destroy();
  }, REQUEST_TIMEOUT_MS);
  timer.unref();
  sock.once("close", () => clearTimeout(timer));
  const onData = (d: Buffer): void => {
    if (answered) return;
    head += d.toString("latin1");
    const complete = /\r?\n\r?\n/.test(head);
    if (!complete && head.length <= MAX_REQUEST_HEAD) return;
    answered = true;
    clearTimeout(timer);
    sock.off("data", onData);
    sock.resume(); // discard anything after the request head
    if (sock.connection.connectionState === "closed" || !sock.writable) {
      // The client's close_notify came with its request, and the library answered it at once.
      warn("the client closed (close_notify) right after its request: no answer sent");
      sock.destroy();
      return;
    }
    if (!complete) {
      sock.end(
        "HTTP/1.0 431 request header too large\r\nContent-Type: text/plain\r\n\r\nrequest too large\n",
      );
      return;
    }
    const info = sock.info;
    const body = info ? summaryText(info, "server") : "no handshake\n";
    sock.end(`HTTP/1.0 200 ok\r\nContent-Type: text/plain\r\n\r\n${body}`);
  };
  sock.on("data", onData);
}

/** Echoes; `afterFirst` runs once, after the first data has been echoed. */
function serveEcho(sock: TLSSocket, afterFirst?: () => void): void {
  let first = true;
  sock.on("data", (d: Buffer) => {
    if (!sock.writable || sock.connection.connectionState !== "established") return;
    sock.write(d);
    if (first) {
      first = false;
      afterFirst?.();
    }
  });
}

export async function runServer(argv: readonly string[], io: Output = stdio): Promise<number> {
  const { values: v, positionals } = parseCommand(argv, SERVER_OPTIONS, {
    ...OPENSSL_ALIASES,
    accept: "port",
    no_ticket: "no-tickets",
  });
  if (v.help) {
    io.out(`${SERVER_USAGE}\n`);
    return 0;
  }
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
  if (v.port === undefined) throw new UsageError("--port is required (0 picks a free port)");
  const port = parsePort(v.port, "--port");
  const host = v.host ?? "127.0.0.1";
  const certs = v.cert ?? [];
  const keys = v.key ?? [];
  if (certs.length === 0) throw new UsageError("--cert FILE and --key FILE are required");
  if (certs.length !== keys.length)
    throw new UsageError(`${certs.length} --cert but ${keys.length} --key: give them in pairs`);
  const certificates: CertKeyPair[] = certs.map((c, i) => ({
    cert: readPemFile("--cert", c),
    key: readPemFile("--key", keys[i]!),
  }));
  const clientAuth = clientAuthMode(v["verify-client"]);
  const ca = v.ca !== undefined ? readPemFile("--ca", v.ca) : undefined;
  const keylog = KeyLog.open(v.keylog);
  if (v.www && v["key-update"]) throw new UsageError("--key-update works in echo mode, not with --www");
  if (v.www && v.alpn !== undefined && /(^|[,:])\s*h2\s*($|[,:])/.test(v.alpn))
    io.err("typetls: warning: --www answers in HTTP/1.0; clients that negotiate h2 will not understand it");

  // Session resumption.
  const resumption: ServerOptions = {};
  if (v["session-lifetime"] !== undefined)
    resumption.sessionLifetime = parseSeconds("--session-lifetime", v["session-lifetime"]);
  const rotateSeconds =
    v["ticket-rotate"] !== undefined ? parseSeconds("--ticket-rotate", v["ticket-rotate"]) : undefined;
  if (v["no-tickets"]) {
    for (const o of ["ticket-keys", "ticket-rotate", "single-use-tickets"] as const)
      if (v[o] !== undefined) throw new UsageError(`--${o} and --no-tickets contradict each other`);
    resumption.sessionTickets = false;
  }
  if (v["no-session-ids"]) resumption.sessionIds = false;
  if (v["single-use-tickets"]) resumption.singleUseTickets = true;
  if (v["max-early-data"] !== undefined) {
    const n = Number(v["max-early-data"]);
    if (!Number.isInteger(n) || n < 0 || n > 0xffffffff)
      throw new UsageError("--max-early-data takes a number of bytes");
    if (n > 0 && v["no-tickets"]) throw new UsageError("--max-early-data needs session tickets");
    resumption.maxEarlyData = n;
  }
  // Store failures: one line each, at most one a second; the handshakes go on without resumption.
  const storeLog = new RateLimitedLog((line) => io.err(line));
  const onStoreError = (e: unknown): void =>
    storeLog.log(`typetls: session store error: ${describeError(e)}`);
  resumption.onSessionStoreError = onStoreError;
  const keyEvent = (line: string, isError: boolean): void =>
    io.err(`typetls: ${isError ? "warning: " : ""}${line}`);

  // ConfigError (bad suite or group name, key mismatch ...) propagates: main prints it, exit 2.
  // The configuration is checked before the store is opened and the key file is created.
  const tlsOptions: ServerOptions = {
    ...commonOptions(v),
    certificates,
    clientAuth,
    ...(ca !== undefined ? { ca } : {}),
    ...resumption,
  };
  new ServerConfig(tlsOptions);
  const handshakeTimeout =
    v["handshake-timeout"] !== undefined
      ? parseSeconds("--handshake-timeout", v["handshake-timeout"]) * 1000
      : 60_000;

  let store: Awaited<ReturnType<typeof createSessionStoreFromUrl>> | undefined;
  if (v["session-store"] !== undefined) {
    const url = v["session-store"];
    try {
      store = await createSessionStoreFromUrl(url, { onError: onStoreError });
    } catch (e) {
      if (e instanceof UsageError || e instanceof ConfigError) throw e;
      io.err(`typetls: --session-store ${url}: ${describeError(e)}`);
      keylog?.close();
      return 1;
    }
    tlsOptions.sessionStore = store.store;
    if (store.ticketKeys !== undefined) {
      if (rotateSeconds !== undefined && v["ticket-keys"] === undefined) {
        await store.close();
        throw new UsageError(
          `--ticket-rotate: the session store ${url} shares the ticket keys; give --ticket-keys FILE to manage them here`,
        );
      }
      if (v["ticket-keys"] !== undefined)
        io.err(
          `typetls: warning: --ticket-keys ${v["ticket-keys"]} is used instead of the ticket keys of ${url}`,
        );
      else tlsOptions.ticketKeys = store.ticketKeys;
    }
  }
  let keyFile: TicketKeyFile | undefined;
  let ownRing: TicketKeyRing | undefined;
  try {
    if (v["ticket-keys"] !== undefined) {
      keyFile = TicketKeyFile.open(v["ticket-keys"], nodeCrypto);
      tlsOptions.ticketKeys = keyFile.ring;
      io.err(`typetls: ticket keys: ${keyFile.path} (${keyFile.origin})`);
    } else if (rotateSeconds !== undefined && tlsOptions.ticketKeys === undefined) {
      ownRing = new TicketKeyRing(nodeCrypto);
      tlsOptions.ticketKeys = ownRing;
    }
  } catch (e) {
    await store?.close();
    throw e;
  }
  if (keyFile && rotateSeconds !== undefined) keyFile.startRotation(rotateSeconds, keyEvent);
  else if (keyFile) keyFile.startFollowing(keyEvent);
  let ringTimer: NodeJS.Timeout | undefined;
  if (ownRing && rotateSeconds !== undefined) {
    const ring = ownRing;
    ringTimer = setInterval(() => {
      ring.rotate();
      keyEvent(`ticket keys rotated (${ring.all.length} in memory)`, false);
    }, rotateSeconds * 1000);
    ringTimer.unref();
  }
  const cleanup = async (): Promise<void> => {
    keyFile?.stop();
    if (ringTimer) clearInterval(ringTimer);
    storeLog.flush();
    try {
      await store?.close();
    } catch (e) {
      io.err(`typetls: warning: closing the session store: ${describeError(e)}`);
    }
    keylog?.close();
  };

  const server: TLSServer = createServer({ ...tlsOptions, handshakeTimeout });

  let nextId = 1;
  server.on("connection", (sock: TLSSocket) => {
    const id = nextId++;
    const peer = formatAddress(sock.remoteAddress ?? "?", sock.remotePort ?? 0);
    if (v.trace) attachTrace(sock, "server", io, `typetls: trace: #${id} ${peer}`);
    keylog?.attach(sock);
    // Our own error listener: the failure is reported here, once, and goes no further.
    sock.on("error", (err) =>
      io.err(`typetls: connection #${id} from ${peer} failed: ${describeError(err)}`),
    );
    // 0-RTT data arrives before 'secure'; it is served like the rest, once the handshake is done.
    const early: Buffer[] = [];
    sock.on("earlyData", (d: Buffer) => {
      early.push(d);
      if (v.trace) io.err(`typetls: trace: #${id} ${peer} early data: ${d.length} bytes`);
    });
    sock.once("secure", () => {
      queueMicrotask(() => {
        for (const d of early.splice(0)) sock.emit("data", d);
      });
      if (v.www) serveWww(sock, (line) => io.err(`typetls: connection #${id} from ${peer}: ${line}`));
      else if (!v["key-update"]) serveEcho(sock);
      else
        serveEcho(sock, () => {
          if (sock.info?.version !== TLS13) {
            io.err(`typetls: connection #${id}: --key-update: KeyUpdate is TLS 1.3 only, not sent`);
            return;
          }
          try {
            sock.updateKeys(true);
            io.err(`typetls: connection #${id}: key update sent (update_requested)`);
          } catch (e) {
            io.err(`typetls: connection #${id}: --key-update: ${describeError(e)}`);
          }
        });
    });
  });

  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (): void => {
      if (stopping) return;
      stopping = true;
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
      server.close(() => {
        void cleanup().then(() => resolve(0));
      });
    };
    server.on("error", (err: Error) => {
      io.err(`typetls: cannot listen on ${formatAddress(host, port)}: ${describeError(err)}`);
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
      void cleanup().then(() => resolve(1));
    });
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
    server.listen(port, host, () => {
      const a = server.address();
      io.out(`listening on ${formatAddress(a.address, a.port)}\n`);
    });
  });
}
