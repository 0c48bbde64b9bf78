/**
 * The typetls command: `demo`, `server` and `client`. main() returns the exit status: 0 success,
 * 1 a TLS or network failure, 2 a usage or configuration error.
 */
import { readFileSync } from "node:fs";
import { ConfigError } from "../config.js";
import { UsageError } from "./args.js";
import { CLIENT_USAGE, runClient } from "./client.js";
import { describeError, type Output, stdio } from "./common.js";
import { DEMO_USAGE, runDemo } from "./demo.js";
import { runServer, SERVER_USAGE } from "./server.js";

export const USAGE = `usage: typetls <command> [options]

TypeTLS, a TLS stack in TypeScript (TLS 1.3 and 1.2).

commands:
  demo      a full handshake between a client and a server in this process, step by step
  server    a TLS server: echo, or --www for a page describing the connection
  client    a TLS client: sends standard input, prints what it receives

Run "typetls <command> --help" for its options. Examples:
  typetls demo                  # TLS 1.3; typetls demo --tls12 for the classic 1.2 flight
  typetls demo --resume         # then a second connection that resumes the session
  typetls server --port 4433 --cert chain.pem --key key.pem --www
  typetls client localhost:4433 --ca root.pem --alpn http/1.1 --sess-out sess.txt

exit status: 0 success, 1 TLS or network failure, 2 usage or configuration error.`;

const COMMAND_USAGE: Record<string, string> = {
  demo: DEMO_USAGE,
  server: SERVER_USAGE,
  client: CLIENT_USAGE,
};

function version(): string {
  try {
    // dist*/src/cli/main.js and src/cli/main.ts are both three levels below the package root.
    const pkg = JSON.parse(readFileSync(new URL("../../../package.json", import.meta.url), "utf8")) as {
      version?: string;
    };
    return pkg.version ?? "unknown";
  } catch {
    return "unknown";
  }
}

export async function main(argv: string[], io: Output = stdio): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case undefined:
        io.err(USAGE);
        return 2;
      case "-h":
      case "--help":
      case "help": {
        const topic = rest[0] !== undefined ? COMMAND_USAGE[rest[0]] : undefined;
        io.out(`${topic ?? USAGE}\n`);
        return 0;
      }
      case "-V":
      case "--version":
      case "version":
        io.out(`typetls ${version()}\n`);
        return 0;
      case "demo":
        return await runDemo(rest, io);
      case "server":
        return await runServer(rest, io);
      case "client":
        return await runClient(rest, io);
      default:
        io.err(`typetls: unknown command "${command}" (commands: demo, server, client; see typetls --help)`);
        return 2;
    }
  } catch (e) {
    if (e instanceof UsageError) {
      io.err(`typetls: ${e.message}`);
      io.err(`(see typetls ${command} --help)`);
      return 2;
    }
    if (e instanceof ConfigError) {
      io.err(`typetls: ${e.message}`);
      return 2;
    }
    io.err(`typetls: error: ${describeError(e)}`);
    return 1;
  }
}
