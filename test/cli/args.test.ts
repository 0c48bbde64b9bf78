import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { normalizeArgs, parseHostPort, parseVersionArg, splitList, UsageError } from "../../src/cli/args.js";
import { killAll, runCli } from "./peers.js";

after(killAll);

const OPTS = {
  connect: { type: "string" },
  trace: { type: "boolean" },
  ca: { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

describe("argument parsing", () => {
  it("maps OpenSSL-style single-dash long options, and leaves values and short flags alone", () => {
    assert.deepEqual(normalizeArgs(["-connect", "h:1", "-trace", "-h"], OPTS), [
      "--connect",
      "h:1",
      "--trace",
      "-h",
    ]);
    assert.deepEqual(normalizeArgs(["-CAfile", "r.pem"], OPTS, { CAfile: "ca" }), ["--ca", "r.pem"]);
    assert.deepEqual(normalizeArgs(["-ca=x"], OPTS), ["--ca=x"]);
    // a value that starts with '-' stays the option's value
    assert.deepEqual(normalizeArgs(["--ca", "-trace"], OPTS), ["--ca=-trace"]);
    // unknown names and everything after -- are not touched
    assert.deepEqual(normalizeArgs(["-bogus", "--", "-trace"], OPTS), ["-bogus", "--", "-trace"]);
  });

  it("parses HOST:PORT, [v6]:PORT and bare hosts", () => {
    assert.deepEqual(parseHostPort("example.com:8443"), { host: "example.com", port: 8443 });
    assert.deepEqual(parseHostPort("127.0.0.1:1"), { host: "127.0.0.1", port: 1 });
    assert.deepEqual(parseHostPort("[::1]:4433"), { host: "::1", port: 4433 });
    assert.deepEqual(parseHostPort("example.com", 443), { host: "example.com", port: 443 });
    assert.throws(() => parseHostPort("::1:4433", 443), UsageError);
    assert.throws(() => parseHostPort("h:99999"), UsageError);
    assert.throws(() => parseHostPort(":80"), UsageError);
  });

  it("accepts version spellings and lists", () => {
    assert.equal(parseVersionArg("--min-version", "1.2"), "TLSv1.2");
    assert.equal(parseVersionArg("--min-version", "TLSv1.2"), "TLSv1.2");
    assert.equal(parseVersionArg("--min-version", "tls1_3"), "TLSv1.3");
    assert.equal(parseVersionArg("--min-version", "SSLv3"), "SSLv3");
    assert.throws(() => parseVersionArg("--min-version", "2.0"), UsageError);
    assert.deepEqual(splitList("a,b:c, d"), ["a", "b", "c", "d"]);
  });
});

describe("typetls usage and errors", { timeout: 60_000 }, () => {
  it("--help prints usage and exits 0; each command has its own", async () => {
    const top = await runCli(["--help"]);
    assert.equal(top.code, 0);
    assert.match(top.stdout, /usage: typetls <command>/);
    assert.match(top.stdout, /demo/);
    for (const cmd of ["demo", "server", "client"]) {
      const r = await runCli([cmd, "--help"]);
      assert.equal(r.code, 0, r.proc.transcript());
      assert.match(r.stdout, new RegExp(`usage: typetls ${cmd}`));
    }
    const c = await runCli(["client", "-help"]);
    assert.equal(c.code, 0, c.proc.transcript());
  });

  it("no command and unknown commands exit 2", async () => {
    const none = await runCli([]);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /usage: typetls/);
    const bad = await runCli(["frobnicate"]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /unknown command "frobnicate"/);
  });

  it("unknown options exit 2 with a message", async () => {
    const r = await runCli(["client", "127.0.0.1:1", "--bogus"]);
    assert.equal(r.code, 2, r.proc.transcript());
    assert.match(r.stderr, /typetls: unknown option --bogus/);
    const s = await runCli(["server", "--port", "0", "-nosuchthing"]);
    assert.equal(s.code, 2, s.proc.transcript());
    assert.match(s.stderr, /unknown option/);
  });

  it("missing values, bad ports and unreadable files exit 2", async () => {
    const noPort = await runCli(["server", "--cert", "x.pem", "--key", "x.key"]);
    assert.equal(noPort.code, 2);
    assert.match(noPort.stderr, /--port is required/);
    const badPort = await runCli(["client", "localhost:http"]);
    assert.equal(badPort.code, 2);
    assert.match(badPort.stderr, /invalid port/);
    const noFile = await runCli(["server", "--port", "0", "--cert", "/nonexistent.pem", "--key", "/n.key"]);
    assert.equal(noFile.code, 2);
    assert.match(noFile.stderr, /--cert \/nonexistent\.pem: ENOENT/);
    const mode = await runCli(["client", "127.0.0.1:1", "--min-version", "1.9"]);
    assert.equal(mode.code, 2);
    assert.match(mode.stderr, /unknown TLS version "1.9"/);
  });
});
