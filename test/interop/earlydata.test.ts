import assert from "node:assert/strict";
import { once } from "node:events";
import { mkdtempSync, writeFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { connect, createServer, type TLSSession, type TLSSocket } from "../../src/index.js";
import { standardPki } from "../fixtures/pki.js";
import { killAllPeers, requirePeer, spawnPeer, startServerPeer } from "./peers.js";

/** TLS 1.3 0-RTT (RFC 8446 §4.2.10) against OpenSSL, both roles. */

after(killAllPeers);
const dir = mkdtempSync(join(tmpdir(), "typetls-0rtt-"));

function session(port: number, ca: string, earlyData?: Buffer, sessionIn?: TLSSession) {
  return new Promise<{ sess: TLSSession | undefined; sock: TLSSocket; received: string }>(
    (resolve, reject) => {
      const sock = connect({
        host: "127.0.0.1",
        port,
        servername: "localhost",
        ca,
        ...(sessionIn ? { session: sessionIn } : {}),
        ...(earlyData ? { earlyData } : {}),
      });
      let sess: TLSSession | undefined;
      let received = "";
      sock.on("session", (s: TLSSession) => {
        sess = sess ?? s;
      });
      sock.on("data", (d: Buffer) => {
        received += d.toString();
      });
      sock.on("secureConnect", () => setTimeout(() => sock.end(), 300));
      sock.on("error", reject);
      sock.on("close", () => resolve({ sess, sock, received }));
    },
  );
}

describe("0-RTT early data with OpenSSL", { timeout: 60_000 }, () => {
  test("our client's early data accepted by openssl s_server -early_data", { timeout: 30_000 }, async (t) => {
    if (!requirePeer(t, "openssl")) return;
    const p = (await standardPki()).p256;
    // s_server prints what arrives early ("Early data received:") and after.
    const { proc, port } = await startServerPeer("openssl", (port) => [
      "s_server",
      "-accept",
      `127.0.0.1:${port}`,
      "-cert",
      p.files.leaf,
      "-cert_chain",
      p.files.intermediate,
      "-key",
      p.files.leafKey,
      "-early_data",
      "-naccept",
      "3",
    ]);
    const first = await session(port, p.root.certPem);
    assert.ok(first.sess && first.sess.state.maxEarlyData > 0, "s_server tickets allow early data");
    const second = await session(port, p.root.certPem, Buffer.from("EARLY FROM TYPETLS\n"), first.sess);
    assert.equal(second.sock.info?.resumed, true);
    assert.equal(second.sock.info?.earlyData, "accepted");
    // s_server prints the data raw and its own report through stdio: their order may vary.
    await proc.waitFor("End of early data", 5000, "s_server's early data report");
    assert.match(proc.stdout, /Early data received:/);
    assert.match(proc.stdout, /EARLY FROM TYPETLS/);
  });

  test("openssl s_client -early_data accepted by our server, reported as early", {
    timeout: 30_000,
  }, async (t) => {
    if (!requirePeer(t, "openssl")) return;
    const p = (await standardPki()).p256;
    const early: string[] = [];
    const ordinary: string[] = [];
    const infos: Array<string | undefined> = [];
    const server = createServer({ cert: p.chainPem, key: p.leaf.keyPem, maxEarlyData: 16384 }, (s) => {
      infos.push(s.info?.earlyData);
      s.on("data", (d: Buffer) => {
        ordinary.push(d.toString());
        s.end(`echo ${d}`);
      });
    });
    server.on("connection", (s: TLSSocket) => s.on("earlyData", (d: Buffer) => early.push(d.toString())));
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    const port = (server.address() as AddressInfo).port;
    try {
      const sessFile = join(dir, "s.pem");
      const earlyFile = join(dir, "early.txt");
      writeFileSync(earlyFile, "EARLY FROM OPENSSL\n");
      const common = [
        "s_client",
        "-connect",
        `127.0.0.1:${port}`,
        "-servername",
        "localhost",
        "-CAfile",
        p.files.root,
      ];
      const a = spawnPeer("openssl", [...common, "-sess_out", sessFile]);
      a.write("first\n");
      await a.waitFor("echo first", 10_000, "the first echo");
      a.endInput();
      await a.exited;
      const b = spawnPeer("openssl", [...common, "-sess_in", sessFile, "-early_data", earlyFile]);
      b.write("second\n");
      await b.waitFor("echo second", 10_000, "the second echo");
      b.endInput();
      await b.exited;
      assert.match(b.stdout, /Reused, TLSv1\.3/);
      assert.match(b.stdout, /Early data was accepted/);
      assert.deepEqual(
        early,
        ["EARLY FROM OPENSSL\n"],
        "reported through 'earlyData', apart from ordinary data",
      );
      assert.deepEqual(ordinary, ["first\n", "second\n"]);
      assert.deepEqual(infos, [undefined, "accepted"]);
      // The same ticket again: a replay. Resumed, but the early data is refused (and s_client says so).
      const c = spawnPeer("openssl", [...common, "-sess_in", sessFile, "-early_data", earlyFile]);
      c.write("third\n");
      await c.waitFor("echo third", 10_000, "the third echo");
      c.endInput();
      await c.exited;
      assert.match(c.stdout, /Early data was rejected/);
      assert.deepEqual(early, ["EARLY FROM OPENSSL\n"], "a replay is never delivered");
      assert.equal(infos.at(-1), "rejected");
    } finally {
      server.close();
    }
  });
});
