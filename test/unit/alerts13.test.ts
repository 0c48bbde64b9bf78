import assert from "node:assert/strict";
import { test } from "node:test";
import { ContentType } from "../../src/constants.js";
import type { TLSError } from "../../src/errors.js";
import { standardPki } from "../fixtures/pki.js";
import { pair } from "./pair.js";
import { frameRecords, parseRecords } from "./records.js";

test("TLS 1.3: a client that refuses the server's flight sends its alert under its handshake keys, and the server reports the client's reason", async () => {
  const other = await standardPki();
  for (const compat of [true, false]) {
    const { c, s } = pair({ ca: other.p256.root.certPem, middleboxCompatibility: compat });
    const cErr: TLSError[] = [];
    const sErr: TLSError[] = [];
    c.on("error", (e) => cErr.push(e));
    s.on("error", (e) => sErr.push(e));
    s.receive(c.takeOutgoing());
    c.receive(s.takeOutgoing());
    assert.equal(cErr.length, 1);
    const alertName = cErr[0]!.alertName;
    const out = parseRecords(c.takeOutgoing());
    // No dummy ChangeCipherSpec (our flight never went out), one protected record: the alert.
    assert.deepEqual(
      out.map((r) => r.type),
      [ContentType.application_data],
    );
    s.receive(frameRecords(out));
    assert.equal(sErr.length, 1);
    assert.equal(sErr[0]!.sentBy, "peer");
    assert.equal(sErr[0]!.alertName, alertName);
  }
});
