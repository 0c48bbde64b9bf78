/**
 * Session resumption through the CLI: `typetls client --sess-out/--sess-in`, `typetls server`
 * with its ticket keys and session options, against each other and against OpenSSL.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { RateLimitedLog } from "../../src/cli/common.js";
import { TLSSession } from "../../src/session/client-session.js";
import { TicketKeyRing } from "../../src/session/ticket-keys.js";
import { type StandardPki, standardPki } from "../fixtures/pki.js";
import {
  converse,
  killAll,
  type Proc,
  requirePeer,
  runCli,
  spawnPeer,
  startCliServer,
  startOpensslServer,
} from "./peers.js";

let pki: StandardPki;
let tmp: string;
let n = 0;
before(async () => {
  pki = await standardPki();
  tmp = mkdtempSync(join(tmpdir(), "typetls-cli-sessions-"));
});
after(async () => {
  await killAll();
  rmSync(tmp, { recursive: true, force: true });
});

/** A fresh file name in the test's directory. */
const file = (name: string): string => join(tmp, `${n++}-${name}`);
const p256Args = (): string[] => ["--cert", pki.p256.files.chain, "--key", pki.p256.files.leafKey];
const REQUEST = "GET / HTTP/1.0\r\n\r\n";

/** `typetls client` against a --www server (ours): the request, then the page until the server closes. */
function www(port: number, extra: readonly string[]): ReturnType<typeof converse> {
  return converse(
    [`127.0.0.1:${port}`, "--servername", "localhost", "--ca", pki.p256.files.root, ...extra],
    REQUEST,
  );
}

/** `typetls client` against openssl s_server -www. */
function clientOf(port: number, extra: readonly string[]): ReturnType<typeof runCli> {
  return runCli(
    ["client", `127.0.0.1:${port}`, "--servername", "localhost", "--ca", pki.p256.files.root, ...extra],
    { input: REQUEST },
  );
}

/** openssl s_client with a request; returns its output once it exits. */
async function sClient(
  port: number,
  extra: readonly string[],
): Promise<{ code: number | null; out: string; proc: Proc }> {
  const p = spawnPeer("openssl", [
    "s_client",
    "-connect",
    `127.0.0.1:${port}`,
    "-servername",
    "localhost",
    "-CAfile",
    pki.p256.files.root,
    "-verify_return_error",
    "-ign_eof",
    ...extra,
  ]);
  p.end(REQUEST);
  const code = await p.waitExit(15_000);
  return { code, out: `${p.stdout}\n${p.stderr}`, proc: p };
}

/** The session file: one line of base64, mode 0600, a TLSSession. */
function checkSessionFile(path: string, protocol: string): TLSSession {
  const text = readFileSync(path, "utf8");
  assert.match(text, /^[A-Za-z0-9+/]+=*\n$/, "one line of base64");
  assert.equal(statSync(path).mode & 0o777, 0o600, "the session holds a secret: mode 0600");
  const s = TLSSession.from(text);
  assert.equal(s.protocol, protocol);
  assert.ok(s.isResumable());
  return s;
}

const SAVED = /^typetls: session saved to \S+ \(TLSv1\.[23] .*, \d+ received, valid until \S+\)$/m;

describe("session resumption in the CLI", { timeout: 180_000 }, () => {
  it("client --sess-out then --sess-in against our server: TLS 1.3 (psk_dhe_ke), TLS 1.2 ticket and session id", async () => {
    const { proc, port } = await startCliServer([...p256Args(), "--www"]);
    const noTickets = await startCliServer([...p256Args(), "--www", "--no-tickets"]);
    try {
      // TLS 1.3: the ticket comes after the handshake; the client waits for it.
      const s13 = file("s13");
      const a = await www(port, ["--sess-out", s13]);
      assert.equal(a.code, 0, a.proc.transcript());
      assert.match(a.stderr, / hello-retry no resumed: no$/m);
      assert.match(a.stdout, /^resumed: no$/m);
      assert.match(a.stderr, SAVED);
      assert.match(a.stderr, /session saved to .* \(TLSv1\.3 ticket, TLS_AES_128_GCM_SHA256, 1 received/);
      checkSessionFile(s13, "TLSv1.3");
      const b = await www(port, ["--sess-in", s13, "--sess-out", s13]);
      assert.equal(b.code, 0, b.proc.transcript());
      assert.match(
        b.stderr,
        /^typetls: connected TLSv1\.3 .* group X25519MLKEM768 .* resumed: yes \(psk_dhe_ke\)$/m,
      );
      assert.match(b.stdout, /^resumed: yes \(psk_dhe_ke\)$/m);
      assert.match(b.stdout, /^client certificate: none$/m);
      assert.doesNotMatch(b.stderr, /warning/);
      // The new ticket replaced the old one in the file, and resumes again.
      const c = await www(port, ["--sess-in", s13]);
      assert.match(c.stderr, /resumed: yes \(psk_dhe_ke\)$/m, c.proc.transcript());

      // TLS 1.2: the server issues a ticket and a session id; the ticket is used.
      const s12 = file("s12");
      const d = await www(port, ["--max-version", "1.2", "--sess-out", s12]);
      assert.equal(d.code, 0, d.proc.transcript());
      assert.match(d.stderr, /session saved to .* \(TLSv1\.2 ticket \+ session id, TLS_ECDHE_ECDSA_/);
      checkSessionFile(s12, "TLSv1.2");
      const e = await www(port, ["--max-version", "1.2", "--sess-in", s12]);
      assert.equal(e.code, 0, e.proc.transcript());
      assert.match(e.stderr, /^typetls: connected TLSv1\.2 \S+ group none .* resumed: yes \(ticket\)$/m);
      assert.match(e.stdout, /^resumed: yes \(ticket\)$/m);
      assert.match(e.stdout, /^group: none \(resumed without a new key exchange\)$/m);
      assert.match(e.stdout, /^extended master secret: yes$/m);
      // A TLS 1.2 session offered with TLS 1.3 enabled: this server prefers 1.3, and we say so.
      const f = await www(port, ["--sess-in", s12]);
      assert.equal(f.code, 0, f.proc.transcript());
      assert.match(f.stderr, /resumed: no$/m);
      assert.match(
        f.stderr,
        /^typetls: the server did not resume the TLSv1\.2 session from \S+: full handshake \(TLSv1\.3 was negotiated; --max-version 1\.2 resumes a TLS 1\.2 session\)$/m,
      );

      // --no-tickets: TLS 1.2 by session id (the server's cache); TLS 1.3 has nothing to resume.
      const id = file("id");
      const g = await www(noTickets.port, ["--max-version", "1.2", "--sess-out", id, "--trace"]);
      assert.equal(g.code, 0, g.proc.transcript());
      assert.doesNotMatch(g.stderr, /NewSessionTicket/);
      assert.match(g.stderr, /^typetls: session id received \(lifetime 7200s\)$/m);
      assert.match(g.stderr, /session saved to .* \(TLSv1\.2 session id, /);
      const h = await www(noTickets.port, ["--max-version", "1.2", "--sess-in", id]);
      assert.match(h.stderr, /resumed: yes \(session_id\)$/m, h.proc.transcript());
      assert.match(h.stdout, /^resumed: yes \(session_id\)$/m);
      const none = file("none");
      const k = await www(noTickets.port, ["--sess-out", none]);
      assert.equal(k.code, 0, k.proc.transcript());
      assert.match(
        k.stderr,
        /^typetls: warning: --sess-out \S+: the server sent no session \(no ticket, no session id\)$/m,
      );
      assert.throws(() => statSync(none), /ENOENT/);
    } finally {
      await proc.kill();
      await noTickets.proc.kill();
    }
  });

  it("a corrupt, missing, expired or foreign --sess-in is a warning and a full handshake", async () => {
    const { proc, port } = await startCliServer([...p256Args(), "--www"]);
    const short = await startCliServer([...p256Args(), "--www", "--session-lifetime", "1"]);
    try {
      const corrupt = file("corrupt");
      writeFileSync(corrupt, "this is not a session\n");
      const a = await www(port, ["--sess-in", corrupt]);
      assert.equal(a.code, 0, a.proc.transcript());
      assert.match(
        a.stderr,
        /^typetls: warning: --sess-in \S+: not a TypeTLS session \(corrupt, or written by another program\); full handshake$/m,
      );
      assert.match(a.stderr, /resumed: no$/m);
      assert.match(a.stdout, /^resumed: no$/m);
      // Valid base64 of garbage, and a truncated session.
      const good = file("good");
      const g = await www(port, ["--sess-out", good]);
      assert.equal(g.code, 0, g.proc.transcript());
      const b64 = readFileSync(good, "utf8").trim();
      writeFileSync(corrupt, `${b64.slice(0, b64.length / 2)}\n`);
      const t = await www(port, ["--sess-in", corrupt]);
      assert.equal(t.code, 0, t.proc.transcript());
      assert.match(t.stderr, /--sess-in \S+: not a TypeTLS session .*; full handshake$/m);

      const m = await www(port, ["--sess-in", file("missing")]);
      assert.equal(m.code, 0, m.proc.transcript());
      assert.match(m.stderr, /^typetls: warning: --sess-in \S+: cannot read it \(ENOENT\); full handshake$/m);

      const e = file("empty");
      writeFileSync(e, "");
      const em = await www(port, ["--sess-in", e]);
      assert.match(em.stderr, /--sess-in \S+: the file is empty; full handshake$/m, em.proc.transcript());

      // A session for another name is not offered.
      const other = await converse(
        [`localhost:${port}`, "--ca", pki.p256.files.root, "--servername", "typetls.test", "--sess-in", good],
        REQUEST,
      );
      assert.equal(other.code, 0, other.proc.transcript());
      assert.match(
        other.stderr,
        /--sess-in \S+: the session is for "localhost", not "typetls\.test"; full handshake$/m,
      );

      // --session-lifetime 1: a second later it has expired.
      const brief = file("brief");
      assert.equal((await www(short.port, ["--sess-out", brief])).code, 0);
      assert.ok(TLSSession.from(readFileSync(brief, "utf8")).state.lifetime <= 1);
      await new Promise((r) => setTimeout(r, 1300));
      const x = await www(short.port, ["--sess-in", brief]);
      assert.equal(x.code, 0, x.proc.transcript());
      assert.match(
        x.stderr,
        /^typetls: warning: --sess-in \S+: the session expired at \S+Z; full handshake$/m,
      );
      assert.match(x.stderr, /resumed: no$/m);
    } finally {
      await proc.kill();
      await short.proc.kill();
    }
  });

  it("a session from an --insecure connection is not offered to a verifying client (its chain is checked first)", async () => {
    const { proc, port } = await startCliServer([
      "--cert",
      pki.untrusted.files.chain,
      "--key",
      pki.untrusted.files.leafKey,
      "--www",
    ]);
    try {
      for (const version of ["1.3", "1.2"]) {
        const f = file(`insecure-${version}`);
        const a = await converse(
          [`localhost:${port}`, "--insecure", "--max-version", version, "--sess-out", f],
          REQUEST,
        );
        assert.equal(a.code, 0, a.proc.transcript());
        assert.match(a.stderr, / verified no /);
        // Without the check the library would resume it and call the server verified.
        const b = await runCli(
          [
            "client",
            `localhost:${port}`,
            "--ca",
            pki.p256.files.root,
            "--max-version",
            version,
            "--sess-in",
            f,
          ],
          { input: REQUEST },
        );
        assert.equal(b.code, 1, b.proc.transcript());
        assert.match(
          b.stderr,
          /^typetls: warning: --sess-in \S+: its server certificate does not verify with these trust anchors and name \(UNABLE_TO_GET_ISSUER_CERT_LOCALLY\); full handshake$/m,
        );
        assert.match(b.stderr, /certificate verification failed: UNABLE_TO_GET_ISSUER_CERT_LOCALLY/);
        assert.doesNotMatch(b.stderr, /connected/);
        // With the right trust anchor the remembered chain verifies, and the session resumes.
        const c = await converse(
          [`localhost:${port}`, "--ca", pki.untrusted.files.root, "--max-version", version, "--sess-in", f],
          REQUEST,
        );
        assert.equal(c.code, 0, c.proc.transcript());
        assert.match(c.stderr, /verified yes hello-retry no resumed: yes \((psk_dhe_ke|ticket)\)$/m);
      }
    } finally {
      await proc.kill();
    }
  });

  it("against openssl s_server: TLS 1.3 tickets, TLS 1.2 tickets and TLS 1.2 session ids (-no_ticket)", async (t) => {
    if (!requirePeer(t, "openssl")) return;
    for (const [extra, kind, saved] of [
      [["-tls1_3"], "psk_dhe_ke", "TLSv1.3 ticket"],
      [["-tls1_2"], "ticket", "TLSv1.2 ticket"],
      [["-tls1_2", "-no_ticket"], "session_id", "TLSv1.2 session id"],
    ] as const) {
      const { proc, port } = await startOpensslServer(pki.p256.files, ["-www", ...extra]);
      try {
        const f = file("openssl");
        // Our client offers TLS 1.3 and 1.2 both times; s_server -tls1_2 picks 1.2.
        const a = await clientOf(port, ["--sess-out", f]);
        assert.equal(a.code, 0, a.proc.transcript());
        assert.match(a.stdout, /^New, TLSv1\.[23], Cipher is /m);
        assert.match(a.stderr, /resumed: no$/m);
        assert.match(a.stderr, new RegExp(`session saved to \\S+ \\(${saved}, `));
        const b = await clientOf(port, ["--sess-in", f]);
        assert.equal(b.code, 0, b.proc.transcript());
        assert.match(
          b.stdout,
          /^Reused, TLSv1\.[23], Cipher is /m,
          `${extra.join(" ")}: s_server says Reused`,
        );
        assert.match(b.stderr, new RegExp(`resumed: yes \\(${kind}\\)$`, "m"));
        assert.doesNotMatch(b.stderr, /warning|did not resume/);
      } finally {
        await proc.kill();
      }
    }
  });

  it("openssl s_client -sess_out / -sess_in against typetls server --www: Reused, and the page says how", async (t) => {
    if (!requirePeer(t, "openssl")) return;
    const { proc, port } = await startCliServer([...p256Args(), "--www"]);
    try {
      for (const [extra, kind, protocol] of [
        [[], "psk_dhe_ke", "TLSv1.3"],
        [["-tls1_2"], "ticket", "TLSv1.2"],
        [["-tls1_2", "-no_ticket"], "session_id", "TLSv1.2"],
      ] as const) {
        const f = file("s_client.pem");
        const a = await sClient(port, [...extra, "-sess_out", f]);
        assert.equal(a.code, 0, a.proc.transcript());
        assert.match(a.out, new RegExp(`^New, ${protocol}, Cipher is `, "m"));
        assert.match(a.out, /^resumed: no$/m);
        assert.match(readFileSync(f, "utf8"), /-----BEGIN SSL SESSION PARAMETERS-----/);
        const b = await sClient(port, [...extra, "-sess_in", f]);
        assert.equal(b.code, 0, b.proc.transcript());
        assert.match(b.out, new RegExp(`^Reused, ${protocol}, Cipher is `, "m"), extra.join(" "));
        assert.match(b.out, new RegExp(`^protocol: ${protocol.replace(".", "\\.")}$`, "m"));
        assert.match(b.out, new RegExp(`^resumed: yes \\(${kind}\\)$`, "m"));
      }
      assert.doesNotMatch(proc.stderr, /failed:/, proc.transcript());
    } finally {
      await proc.kill();
    }
  });

  it("openssl s_client -reconnect resumes on typetls server (TLS 1.2: ticket and session id)", async (t) => {
    if (!requirePeer(t, "openssl")) return;
    // OpenSSL 3.0's -reconnect takes the session right after the handshake, before a TLS 1.3
    // ticket can arrive: it never resumes TLS 1.3, against its own s_server either. So TLS 1.2.
    const { proc, port } = await startCliServer(p256Args());
    try {
      for (const extra of [["-tls1_2"], ["-tls1_2", "-no_ticket"]]) {
        const p = spawnPeer("openssl", [
          "s_client",
          "-connect",
          `127.0.0.1:${port}`,
          "-servername",
          "localhost",
          "-CAfile",
          pki.p256.files.root,
          "-verify_return_error",
          "-reconnect",
          ...extra,
        ]);
        p.end();
        assert.equal(await p.waitExit(20_000), 0, p.transcript());
        const lines = p.stdout.split("\n").filter((l) => /^(New|Reused), /.test(l));
        assert.equal(lines.length, 6, p.transcript());
        assert.match(lines[0]!, /^New, TLSv1\.2, /);
        for (const l of lines.slice(1)) assert.match(l, /^Reused, TLSv1\.2, /, p.transcript());
      }
    } finally {
      await proc.kill();
    }
  });

  it("--ticket-keys FILE shared by two servers: a session from A resumes on B (TLS 1.3 and 1.2 tickets)", async () => {
    const keys = file("ticket-keys.json");
    const a = await startCliServer([...p256Args(), "--www", "--ticket-keys", keys]);
    const b = await startCliServer([...p256Args(), "--www", "--ticket-keys", keys]);
    const solo = await startCliServer([...p256Args(), "--www"]);
    try {
      await a.proc.waitFor(/^typetls: ticket keys: \S+ \(created with a new key\)$/m);
      await b.proc.waitFor(/^typetls: ticket keys: \S+ \(loaded 1 key\)$/m);
      assert.equal(statSync(keys).mode & 0o777, 0o600, "ticket keys are secrets: mode 0600");
      const ring = TicketKeyRing.parse(readFileSync(keys, "utf8"));
      assert.equal(ring.length, 1);
      assert.equal(ring[0]!.key.length, 32);
      for (const version of ["1.3", "1.2"]) {
        const f = file(`fleet-${version}`);
        const first = await www(a.port, ["--max-version", version, "--sess-out", f]);
        assert.equal(first.code, 0, first.proc.transcript());
        const onB = await www(b.port, ["--max-version", version, "--sess-in", f]);
        assert.equal(onB.code, 0, onB.proc.transcript());
        const kind = version === "1.3" ? "psk_dhe_ke" : "ticket";
        assert.match(onB.stdout, new RegExp(`^resumed: yes \\(${kind}\\)$`, "m"), `TLS ${version} on B`);
        // A server with its own keys cannot open the ticket: a full handshake.
        const elsewhere = await www(solo.port, ["--max-version", version, "--sess-in", f]);
        assert.equal(elsewhere.code, 0, elsewhere.proc.transcript());
        assert.match(elsewhere.stdout, /^resumed: no$/m);
        assert.match(elsewhere.stderr, /the server did not resume the TLSv1\.[23] session/);
      }
      // The file survives a restart: a new server on it still opens A's tickets.
      const f = file("restart");
      assert.equal((await www(a.port, ["--sess-out", f])).code, 0);
      await a.proc.kill();
      const c = await startCliServer([...p256Args(), "--www", "--ticket-keys", keys]);
      try {
        const r = await www(c.port, ["--sess-in", f]);
        assert.match(r.stdout, /^resumed: yes \(psk_dhe_ke\)$/m, r.proc.transcript());
      } finally {
        await c.proc.kill();
      }
    } finally {
      await a.proc.kill();
      await b.proc.kill();
      await solo.proc.kill();
    }
  });

  it("--ticket-rotate: a new key each period, 2 previous ones kept, the other server follows the file", async () => {
    const keys = file("rotating.json");
    const a = await startCliServer([...p256Args(), "--www", "--ticket-keys", keys, "--ticket-rotate", "2"]);
    const b = await startCliServer([...p256Args(), "--www", "--ticket-keys", keys]);
    const count = (p: Proc, re: RegExp): number => p.stderr.split("\n").filter((l) => re.test(l)).length;
    const ROTATED = /^typetls: ticket keys rotated \([23] in \S+\)$/;
    const RELOADED = /^typetls: ticket keys reloaded from \S+$/;
    const has = (ring: { name: Uint8Array }[], name: Uint8Array): boolean =>
      ring.some((k) => Buffer.from(k.name).equals(Buffer.from(name)));
    try {
      const f = file("old-ticket");
      const first = await www(a.port, ["--sess-out", f]);
      assert.equal(first.code, 0, first.proc.transcript());
      // The key that sealed this ticket: its name is the ticket's first 16 bytes (whatever rotated before).
      const sealedBy = TLSSession.from(readFileSync(f, "utf8")).state.ticket.subarray(0, 16);
      const ringNow = () => TicketKeyRing.parse(readFileSync(keys, "utf8"));
      /** Polls until `cond` holds on the key file, and B has reloaded it as often as A rotated it. */
      const until = async (
        cond: (ring: ReturnType<typeof ringNow>) => boolean,
        what: string,
      ): Promise<void> => {
        const deadline = Date.now() + 20_000;
        while (!cond(ringNow()) || count(b.proc, RELOADED) < count(a.proc, ROTATED)) {
          assert.ok(Date.now() < deadline, `${what}\n${a.proc.transcript()}\n${b.proc.transcript()}`);
          await new Promise((r) => setTimeout(r, 100));
        }
      };
      await until(
        (ring) => !Buffer.from(ring[0]!.name).equals(Buffer.from(sealedBy)),
        "no rotation after the ticket",
      );
      const ring = ringNow();
      assert.ok(ring.length >= 2 && ring.length <= 3, `${ring.length} keys`);
      assert.ok(has(ring, sealedBy), "the previous key is kept");
      assert.equal(statSync(keys).mode & 0o777, 0o600);
      // The ticket sealed under the previous key still opens, on B too.
      const onB = await www(b.port, ["--sess-in", f]);
      assert.match(onB.stdout, /^resumed: yes \(psk_dhe_ke\)$/m, onB.proc.transcript());
      // Never more than 3 keys; once the sealing key is gone, so is its ticket.
      await until((r) => !has(r, sealedBy), "the old key was never dropped");
      const later = ringNow();
      assert.equal(later.length, 3);
      const gone = await www(b.port, ["--sess-in", f]);
      assert.equal(gone.code, 0, gone.proc.transcript());
      assert.match(gone.stdout, /^resumed: no$/m);
      assert.doesNotMatch(a.proc.stderr + b.proc.stderr, /warning|failed/);
    } finally {
      await a.proc.kill();
      await b.proc.kill();
    }
  });

  it("--single-use-tickets, --no-session-ids, --session-store memory:", async () => {
    const single = await startCliServer([...p256Args(), "--www", "--single-use-tickets"]);
    const noIds = await startCliServer([...p256Args(), "--www", "--no-session-ids", "--no-tickets"]);
    const store = await startCliServer([
      ...p256Args(),
      "--www",
      "--session-store",
      "memory:",
      "--no-tickets",
    ]);
    try {
      const f = file("single");
      assert.equal((await www(single.port, ["--sess-out", f])).code, 0);
      const copy = readFileSync(f, "utf8");
      const once = await www(single.port, ["--sess-in", f]);
      assert.match(once.stdout, /^resumed: yes \(psk_dhe_ke\)$/m, once.proc.transcript());
      writeFileSync(f, copy); // the same ticket again
      const twice = await www(single.port, ["--sess-in", f]);
      assert.equal(twice.code, 0, twice.proc.transcript());
      assert.match(twice.stdout, /^resumed: no$/m, "a single-use ticket does not resume twice");

      const n12 = await www(noIds.port, ["--max-version", "1.2", "--sess-out", file("nothing")]);
      assert.equal(n12.code, 0, n12.proc.transcript());
      assert.match(n12.stderr, /--sess-out \S+: the server sent no session/);

      const s = file("store");
      assert.equal((await www(store.port, ["--max-version", "1.2", "--sess-out", s])).code, 0);
      const r = await www(store.port, ["--max-version", "1.2", "--sess-in", s]);
      assert.match(r.stdout, /^resumed: yes \(session_id\)$/m, r.proc.transcript());
      assert.equal(store.proc.stderr, "", store.proc.transcript());
    } finally {
      await single.proc.kill();
      await noIds.proc.kill();
      await store.proc.kill();
    }
  });

  it("resumption options that are wrong or contradict each other exit 2", async () => {
    const base = ["server", "--port", "0", ...p256Args()];
    for (const [args, message] of [
      [["--session-lifetime", "0"], /--session-lifetime: expected seconds \(1 or more\), not "0"/],
      [["--session-lifetime", "604801"], /sessionLifetime must be between 1 second and 7 days/],
      [["--ticket-rotate", "soon"], /--ticket-rotate: expected seconds/],
      [["--no-tickets", "--ticket-keys", file("k.json")], /--ticket-keys and --no-tickets contradict/],
      [["--no-tickets", "--single-use-tickets"], /--single-use-tickets and --no-tickets contradict/],
    ] as const) {
      const r = await runCli([...base, ...args]);
      assert.equal(r.code, 2, r.proc.transcript());
      assert.match(r.stderr, message);
    }
    const bad = file("bad-keys.json");
    writeFileSync(bad, "{ not json");
    const r = await runCli([...base, "--ticket-keys", bad]);
    assert.equal(r.code, 2, r.proc.transcript());
    assert.match(r.stderr, /^typetls: --ticket-keys \S+: ticket keys: not JSON$/m);
    writeFileSync(bad, JSON.stringify([{ name: "00", key: "11" }]));
    const short = await runCli([...base, "--ticket-keys", bad]);
    assert.equal(short.code, 2, short.proc.transcript());
    assert.match(short.stderr, /ticket keys: names are 16 bytes, keys 32/);
  });

  it("store errors are rate-limited: one line a second, with how many were held back", () => {
    let now = 0;
    const lines: string[] = [];
    const log = new RateLimitedLog(
      (l) => lines.push(l),
      1000,
      () => now,
    );
    log.log("error 1");
    now = 100;
    log.log("error 2");
    log.log("error 3");
    assert.deepEqual(lines, ["error 1"]);
    now = 1000;
    log.flush(); // what the timer does at the end of the second
    assert.deepEqual(lines, ["error 1", "error 3 (and 1 more like it since the last report)"]);
    now = 2500;
    log.log("error 4");
    assert.equal(lines.at(-1), "error 4");
    log.flush(); // nothing pending
    assert.equal(lines.length, 3);
  });
});
