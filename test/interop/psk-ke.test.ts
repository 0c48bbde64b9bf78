import assert from "node:assert/strict";
import { once } from "node:events";
import { mkdtempSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { createServer, type TLSSocket } from "../../src/index.js";
import { standardPki } from "../fixtures/pki.js";
import { killAllPeers, requirePeer, spawnPeer } from "./peers.js";

/** TLS 1.3 psk_ke resumption (no new key exchange) is opt-in on our server (RFC 8446 §4.2.9). */

after(killAllPeers);

async function resumeWith(allowPskOnlyResumption: boolean) {
  const p = (await standardPki()).p256;
  const infos: Array<{ resumed: boolean; how: string | undefined; group: number | undefined }> = [];
  const server = createServer(
    { cert: p.chainPem, key: p.leaf.keyPem, allowPskOnlyResumption },
    (s: TLSSocket) => {
      infos.push({ resumed: s.info?.resumed ?? false, how: s.info?.resumedWith, group: s.info?.group });
      s.on("data", (d: Buffer) => s.end(`echo ${d}`));
    },
  );
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const port = (server.address() as AddressInfo).port;
  const sess = join(mkdtempSync(join(tmpdir(), "typetls-pskke-")), "s.pem");
  // -allow_no_dhe_kex: s_client offers psk_ke as well as psk_dhe_ke.
  const common = [
    "s_client",
    "-connect",
    `127.0.0.1:${port}`,
    "-servername",
    "localhost",
    "-CAfile",
    p.files.root,
    "-tls1_3",
    "-allow_no_dhe_kex",
  ];
  try {
    for (const extra of [
      ["-sess_out", sess],
      ["-sess_in", sess],
    ]) {
      const c = spawnPeer("openssl", [...common, ...extra]);
      c.write("hi\n");
      await c.waitFor("echo hi", 10_000, "our echo");
      c.endInput();
      await c.exited;
    }
  } finally {
    server.close();
  }
  return infos;
}

describe("psk_ke with openssl s_client -allow_no_dhe_kex", { timeout: 60_000 }, () => {
  test("allowed: resumed with psk_ke, no key exchange group", { timeout: 30_000 }, async (t) => {
    if (!requirePeer(t, "openssl")) return;
    const infos = await resumeWith(true);
    assert.equal(infos.length, 2);
    assert.equal(infos[1]?.resumed, true);
    assert.equal(infos[1]?.how, "psk_ke");
    assert.equal(infos[1]?.group, undefined, "no key exchange");
  });
  test("by default: the same client resumes with psk_dhe_ke", { timeout: 30_000 }, async (t) => {
    if (!requirePeer(t, "openssl")) return;
    const infos = await resumeWith(false);
    assert.equal(infos[1]?.resumed, true);
    assert.equal(infos[1]?.how, "psk_dhe_ke");
  });
});
