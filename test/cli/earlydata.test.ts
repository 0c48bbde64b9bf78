import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { standardPki } from "../fixtures/pki.js";
import { killAll, requirePeer, spawnPeer, startCliServer } from "./peers.js";

after(killAll);

describe("typetls server --max-early-data (TLS 1.3 0-RTT)", { timeout: 60_000 }, () => {
  it("an HTTP request sent as early data by openssl s_client is answered; the page says so", async (t) => {
    if (!requirePeer(t, "openssl")) return;
    const p = (await standardPki()).p256;
    const dir = mkdtempSync(join(tmpdir(), "typetls-cli-0rtt-"));
    const { proc, port } = await startCliServer([
      "--cert",
      p.files.chain,
      "--key",
      p.files.leafKey,
      "--www",
      "--max-early-data",
      "16384",
    ]);
    try {
      const sess = join(dir, "sess.pem");
      const request = join(dir, "request.txt");
      writeFileSync(request, "GET / HTTP/1.0\r\n\r\n");
      const common = [
        "s_client",
        "-connect",
        `127.0.0.1:${port}`,
        "-servername",
        "localhost",
        "-CAfile",
        p.files.root,
        "-ign_eof",
      ];
      const first = spawnPeer("openssl", [...common, "-sess_out", sess]);
      first.end("GET / HTTP/1.0\r\n\r\n");
      await first.waitFor(/resumed: no/, 10_000);
      await first.waitExit();
      const second = spawnPeer("openssl", [...common, "-sess_in", sess, "-early_data", request]);
      second.end();
      await second.waitFor(/early data: accepted/, 10_000);
      await second.waitExit();
      assert.match(second.stdout, /Early data was accepted/);
      assert.match(second.stdout, /resumed: yes \(psk_dhe_ke\)/);
    } finally {
      await proc.kill();
    }
  });

  it("rejects a bad value", async () => {
    const p = (await standardPki()).p256;
    const proc = spawnPeer(process.execPath, [
      new URL("../../src/cli/run.js", import.meta.url).pathname,
      "server",
      "--port",
      "0",
      "--cert",
      p.files.chain,
      "--key",
      p.files.leafKey,
      "--max-early-data",
      "lots",
    ]);
    assert.equal(await proc.waitExit(), 2);
  });
});
