import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import fc from "fast-check";
import * as alertTarget from "../../fuzz/targets/alert.js";
import * as clientHelloTarget from "../../fuzz/targets/client-hello.js";
import * as derTarget from "../../fuzz/targets/der.js";
import * as extensionsTarget from "../../fuzz/targets/extensions.js";
import * as messagesTarget from "../../fuzz/targets/handshake-messages.js";
import * as reassemblerTarget from "../../fuzz/targets/handshake-reassembler.js";
import * as deframerTarget from "../../fuzz/targets/record-deframer.js";
import * as sessionTarget from "../../fuzz/targets/session-state.js";
import * as x509Target from "../../fuzz/targets/x509.js";
import { type Alert, decodeAlert, encodeAlert } from "../../src/alert.js";
import { ClientConfig, ServerConfig } from "../../src/config.js";
import { ClientConnection, type Connection, ServerConnection } from "../../src/connection.js";
import { TLSError } from "../../src/errors.js";
import { decodeCertificate12, encodeCertificate12 } from "../../src/handshake/messages/certificate.js";
import { decodeClientHello, encodeClientHello } from "../../src/handshake/messages/client-hello.js";
import {
  alpn,
  decodeExtensions,
  type Extension,
  keyShare,
  preSharedKey,
  serverName,
  supportedVersions,
  writeExtensions,
} from "../../src/handshake/messages/extensions.js";
import { decodeServerHello, encodeServerHello } from "../../src/handshake/messages/server-hello.js";
import {
  decodeCertificate13,
  decodeNewSessionTicket13,
  encodeCertificate13,
  encodeNewSessionTicket13,
} from "../../src/handshake/messages/tls13.js";
import { HandshakeReassembler } from "../../src/handshake/reassembler.js";
import { RecordDeframer } from "../../src/record/deframer.js";
import type { TLSRecord } from "../../src/record/record.js";
import { concat } from "../../src/wire/bytes.js";
import { Reader } from "../../src/wire/reader.js";
import { encode } from "../../src/wire/writer.js";
import { demo } from "./pair.js";

/**
 * Property tests (fast-check): codec round trips on generated values, decoders that refuse
 * anything only with a TLSError (the fuzz targets' own checks, driven by fast-check instead of
 * Jazzer, so they run everywhere), and handshakes that complete whatever the chunking.
 */

const u8 = fc.integer({ min: 0, max: 255 });
const u16 = fc.integer({ min: 0, max: 0xffff });
const u32 = fc.integer({ min: 0, max: 0xffffffff });
const bytes = (min: number, max: number) => fc.uint8Array({ minLength: min, maxLength: max });

/** Extensions with distinct types (duplicates are refused by design). */
const extensions = fc.uniqueArray(fc.record({ type: u16, data: bytes(0, 40) }, { noNullPrototype: true }), {
  maxLength: 8,
  selector: (e) => e.type,
});

test("ClientHello and ServerHello: decode(encode(m)) = m", () => {
  fc.assert(
    fc.property(
      u16,
      bytes(32, 32),
      bytes(0, 32),
      fc.array(u16, { minLength: 1, maxLength: 40 }),
      fc.array(u8, { minLength: 1, maxLength: 4 }),
      extensions,
      (legacyVersion, random, sessionId, cipherSuites, compressionMethods, exts) => {
        const ch = { legacyVersion, random, sessionId, cipherSuites, compressionMethods, extensions: exts };
        assert.deepEqual(decodeClientHello(encodeClientHello(ch).body), ch);
        const sh = {
          legacyVersion,
          random,
          sessionId,
          cipherSuite: cipherSuites[0]!,
          compressionMethod: compressionMethods[0]!,
          extensions: exts,
        };
        assert.deepEqual(decodeServerHello(encodeServerHello(sh).body), sh);
      },
    ),
    { numRuns: 300 },
  );
});

test("Certificate (1.2 and 1.3) and NewSessionTicket 1.3: decode(encode(m)) = m", () => {
  fc.assert(
    fc.property(
      fc.array(bytes(1, 60), { maxLength: 6 }),
      bytes(0, 10),
      fc.array(extensions, { minLength: 6, maxLength: 6 }),
      fc.integer({ min: 0, max: 604800 }),
      u32,
      bytes(0, 16),
      bytes(1, 80),
      (certs, context, exts, lifetime, ageAdd, nonce, ticket) => {
        assert.deepEqual(decodeCertificate12(encodeCertificate12({ certificateList: certs }).body, 10), {
          certificateList: certs,
        });
        const c13 = { context, entries: certs.map((cert, i) => ({ cert, extensions: exts[i]! })) };
        assert.deepEqual(decodeCertificate13(encodeCertificate13(c13).body, 10), c13);
        const nst = { lifetime, ageAdd, nonce, ticket, extensions: exts[0]! };
        assert.deepEqual(decodeNewSessionTicket13(encodeNewSessionTicket13(nst).body), nst);
      },
    ),
    { numRuns: 200 },
  );
});

test("extension codecs: decode(encode(v)) = v", () => {
  const label = fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?$/);
  fc.assert(
    fc.property(
      fc.array(label, { minLength: 1, maxLength: 4 }).map((l) => l.join(".")),
      fc.array(fc.string({ minLength: 1, maxLength: 20, unit: "grapheme-ascii" }), {
        minLength: 1,
        maxLength: 5,
      }),
      fc.array(u16, { minLength: 1, maxLength: 20 }),
      fc.uniqueArray(fc.record({ group: u16, keyExchange: bytes(1, 70) }, { noNullPrototype: true }), {
        maxLength: 4,
        selector: (s) => s.group,
      }),
      fc.array(fc.record({ identity: bytes(1, 40), obfuscatedTicketAge: u32 }, { noNullPrototype: true }), {
        minLength: 1,
        maxLength: 3,
      }),
      extensions,
      (host, protocols, versions, shares, identities, exts) => {
        assert.equal(serverName.decode(serverName.encode(host)), host);
        assert.deepEqual(alpn.decode(alpn.encode(protocols)), protocols);
        assert.deepEqual(supportedVersions.decodeClient(supportedVersions.encodeClient(versions)), versions);
        assert.equal(
          supportedVersions.decodeServer(supportedVersions.encodeServer(versions[0]!)),
          versions[0],
        );
        assert.deepEqual(keyShare.decodeClient(keyShare.encodeClient(shares)), shares);
        if (shares[0]) assert.deepEqual(keyShare.decodeServer(keyShare.encodeServer(shares[0])), shares[0]);
        assert.equal(keyShare.decodeRetry(keyShare.encodeRetry(versions[0]!)), versions[0]);
        const binders = identities.map((_, i) => new Uint8Array(32 + i).fill(i));
        const psk = preSharedKey.decodeClient(preSharedKey.encodeClient(identities, binders));
        assert.deepEqual(psk, { identities, binders });
        const block: Extension[] = decodeExtensions(
          new Reader(encode((w) => writeExtensions(w, exts))),
          false,
        );
        assert.deepEqual(block, exts);
      },
    ),
    { numRuns: 300 },
  );
});

test("alert codec: every two bytes round-trip; any other length is a decode_error", () => {
  fc.assert(
    fc.property(u8, u8, bytes(0, 5), (level, description, other) => {
      const a: Alert = { level, description };
      assert.deepEqual(decodeAlert(encodeAlert(a)), a);
      if (other.length !== 2) {
        assert.throws(
          () => decodeAlert(other),
          (e) => e instanceof TLSError && e.alertName === "decode_error",
        );
      }
    }),
  );
});

// ---- decoders only ever throw TLSError -------------------------------------------------------

/** The fuzz targets with their corpora: fast-check feeds them random and mutated seed inputs. */
const root = new URL("../../..", import.meta.url).pathname;
const TARGETS: Array<[string, (data: Buffer) => void]> = [
  ["record-deframer", deframerTarget.fuzz],
  ["handshake-reassembler", reassemblerTarget.fuzz],
  ["client-hello", clientHelloTarget.fuzz],
  ["handshake-messages", messagesTarget.fuzz],
  ["extensions", extensionsTarget.fuzz],
  ["alert", alertTarget.fuzz],
  ["der", derTarget.fuzz],
  ["x509", x509Target.fuzz],
  ["session-state", sessionTarget.fuzz],
];

function corpus(target: string): Uint8Array[] {
  const dir = join(root, "fuzz/corpus", target);
  return readdirSync(dir).map((f) => new Uint8Array(readFileSync(join(dir, f))));
}

/** A seed with a few bytes overwritten, some inserted and the tail maybe cut. */
function mutated(seeds: Uint8Array[]) {
  return fc
    .tuple(
      fc.constantFrom(...seeds),
      fc.array(fc.tuple(fc.nat(), u8), { maxLength: 6 }),
      fc.option(fc.nat()),
      fc.option(fc.tuple(fc.nat(), bytes(1, 8))),
    )
    .map(([seed, flips, cut, insert]) => {
      let m: Uint8Array = new Uint8Array(seed);
      for (const [i, v] of flips) if (m.length > 0) m[i % m.length] = v;
      if (insert && m.length > 0) {
        const at = insert[0] % m.length;
        m = concat(m.subarray(0, at), insert[1], m.subarray(at));
      }
      if (cut !== null && m.length > 0) m = m.subarray(0, cut % (m.length + 1));
      return Buffer.from(m);
    });
}

for (const [name, fuzz] of TARGETS) {
  test(`${name}: random and mutated inputs are refused only with TLSError (fuzz target checks)`, () => {
    const seeds = corpus(name);
    assert.ok(seeds.length > 0, `no seeds in fuzz/corpus/${name}`);
    const input = fc.oneof(
      bytes(0, 300).map((b) => Buffer.from(b)),
      mutated(seeds),
      fc.tuple(u8, bytes(0, 300)).map(([s, b]) => Buffer.from(concat(Uint8Array.of(s), b))),
    );
    fc.assert(
      fc.property(input, (data) => fuzz(data)),
      { numRuns: name === "x509" ? 300 : 1500 },
    );
  });
}

// ---- any chunking ----------------------------------------------------------------------------

/** Cuts `b` into pieces whose sizes cycle through `sizes`, starting at `k`. */
function pieces(b: Uint8Array, sizes: number[], k: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let o = 0, i = k; o < b.length; i++) {
    const n = sizes[i % sizes.length]!;
    out.push(b.subarray(o, o + n));
    o += n;
  }
  return out;
}

test("record deframer and handshake reassembler: any chunking gives the same records and messages", () => {
  const s = new ServerConnection(new ServerConfig({ cert: demo.cert, key: demo.key, maxVersion: "TLSv1.2" }));
  s.receive(
    new ClientConnection(new ClientConfig({ ca: demo.ca }), { serverName: "localhost" }).takeOutgoing(),
  );
  const flight = s.takeOutgoing(); // plaintext TLS 1.2 ServerHello ... ServerHelloDone
  const whole = new RecordDeframer();
  whole.push(flight);
  const records: TLSRecord[] = [];
  for (let r = whole.next(); r; r = whole.next()) records.push(r);
  assert.ok(records.length >= 1);
  const handshake = concat(...records.filter((r) => r.type === 22).map((r) => r.fragment));
  const wholeMessages: Uint8Array[] = [];
  const ra = new HandshakeReassembler({ maxHandshakeMessageSize: 65536, maxCertificateChainSize: 65536 });
  ra.push(handshake);
  for (let m = ra.next(); m; m = ra.next()) wholeMessages.push(m.raw);
  assert.ok(wholeMessages.length >= 4, "ServerHello, Certificate, ServerKeyExchange, ServerHelloDone");

  fc.assert(
    fc.property(fc.array(fc.integer({ min: 1, max: 700 }), { minLength: 1, maxLength: 12 }), (sizes) => {
      const d = new RecordDeframer();
      const got: TLSRecord[] = [];
      for (const p of pieces(flight, sizes, 0)) {
        d.push(p);
        for (let r = d.next(); r; r = d.next()) got.push(r);
      }
      assert.deepEqual(got, records);
      assert.equal(d.buffered, 0);
      const r2 = new HandshakeReassembler({ maxHandshakeMessageSize: 65536, maxCertificateChainSize: 65536 });
      const msgs: Uint8Array[] = [];
      for (const p of pieces(handshake, sizes, 1)) {
        r2.push(p);
        for (let m = r2.next(); m; m = r2.next()) msgs.push(m.raw);
      }
      assert.deepEqual(msgs, wholeMessages);
      assert.equal(r2.hasPartial, false);
    }),
    { numRuns: 300 },
  );
});

/** Moves bytes both ways, each send cut into pieces; returns when neither side has more. */
function pumpInPieces(a: Connection, b: Connection, sizes: number[]): void {
  for (let i = 0; i < 100; i++) {
    const x = a.takeOutgoing();
    const y = b.takeOutgoing();
    if (x.length === 0 && y.length === 0) return;
    for (const p of pieces(x, sizes, 2 * i)) b.receive(p);
    for (const p of pieces(y, sizes, 2 * i + 1)) a.receive(p);
  }
  throw new Error("pump did not settle");
}

for (const version of ["TLSv1.2", "TLSv1.3"] as const) {
  test(`a whole ${version} connection delivered in random splits completes and carries its data`, () => {
    const clientConfig = new ClientConfig({ ca: demo.ca, maxVersion: version });
    const serverConfig = new ServerConfig({ cert: demo.cert, key: demo.key });
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 400 }), { minLength: 1, maxLength: 10 }),
        bytes(1, 3000),
        (sizes, payload) => {
          const c = new ClientConnection(clientConfig, { serverName: "localhost" });
          const s = new ServerConnection(serverConfig);
          const got: Uint8Array[] = [];
          s.on("data", (d) => got.push(new Uint8Array(d)));
          pumpInPieces(c, s, sizes);
          assert.equal(c.error, null);
          assert.equal(s.error, null);
          assert.equal(c.protocol, version);
          assert.ok(s.handshakeComplete);
          c.write(payload);
          pumpInPieces(c, s, sizes);
          assert.deepEqual(concat(...got), payload);
          c.close();
          pumpInPieces(c, s, sizes);
          assert.ok(s.peerClosed);
        },
      ),
      { numRuns: 25 },
    );
  });
}
