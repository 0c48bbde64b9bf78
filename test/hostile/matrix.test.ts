import assert from "node:assert/strict";
import { test } from "node:test";
import { AlertDescription as A, type AlertDescription, alertName } from "../../src/alert.js";
import { type Bytes, mutate } from "./bytes.js";
import { randomProtection } from "./script13.js";
import { hostileClient12, hostileClient13, hostileServer12, hostileServer13 } from "./setup.js";
import type { Victim, Wire } from "./wire.js";

/**
 * The generic mutations, applied to every message of every flight of both versions in both
 * directions: truncated, padded, duplicated, swapped with the next, dropped, retyped, sent in the
 * wrong epoch (plaintext where sealed, or sealed under keys the victim does not hold). Earlier
 * flights go honestly. And the positive side: every flight still works cut into one-byte records.
 */

type Epoch = "plain" | "sealed" | "ccs";
interface Msg {
  name: string;
  raw: Bytes;
  epoch: Epoch;
}
interface Peer {
  v: Victim;
  wire: Wire;
  /** Our ChangeCipherSpec record (switches the script's write keys). */
  ccs?: () => Bytes;
}
interface Flight<H extends Peer> {
  /** Builds the honest messages of this flight (after the earlier flights went). */
  build(h: H): Msg[];
  /** Reads the victim's answer to this flight (before the next flight is built). */
  after?(h: H): void;
}
interface Scenario<H extends Peer> {
  name: string;
  make(): H;
  /** Runs before the first flight (e.g. the script reads the victim's ClientHello). */
  start?(h: H): void;
  flights: Flight<H>[];
  /** Expected alerts that differ from the defaults, by "mutation:message". */
  expect: Record<string, AlertDescription>;
  /** Mutations that do not apply, by "mutation:message". */
  skip: string[];
}

function out<H extends Peer>(h: H, m: Msg): Bytes[] {
  if (m.epoch === "ccs") return [h.ccs!()];
  return [m.epoch === "sealed" ? h.wire.rec(22, m.raw) : h.wire.plain(22, m.raw)];
}
const send = <H extends Peer>(h: H, msgs: Msg[]) => {
  for (const m of msgs) h.v.send(...out(h, m));
};

type Mutation = (h: Peer, msgs: Msg[], i: number) => Msg[] | "raw";
const mutations: Record<string, { fn: Mutation; alert: (m: Msg) => AlertDescription }> = {
  truncate: {
    fn: (_h, ms, i) => ms.with(i, { ...ms[i]!, raw: mutate.truncate(ms[i]!.raw) }),
    alert: () => A.decode_error,
  },
  pad: {
    fn: (_h, ms, i) => ms.with(i, { ...ms[i]!, raw: mutate.pad(ms[i]!.raw) }),
    alert: () => A.decode_error,
  },
  duplicate: {
    fn: (_h, ms, i) => [...ms.slice(0, i + 1), ms[i]!, ...ms.slice(i + 1)],
    alert: () => A.unexpected_message,
  },
  swap: {
    fn: (_h, ms, i) => (i + 1 < ms.length ? [...ms.slice(0, i), ms[i + 1]!, ms[i]!, ...ms.slice(i + 2)] : []),
    alert: () => A.unexpected_message,
  },
  drop: { fn: (_h, ms, i) => [...ms.slice(0, i), ...ms.slice(i + 1)], alert: () => A.unexpected_message },
  retype: {
    fn: (_h, ms, i) => ms.with(i, { ...ms[i]!, raw: mutate.retype(ms[i]!.raw, 99) }),
    alert: () => A.unexpected_message,
  },
  // Sealed messages sent in plaintext; plaintext messages sealed (the victim has no keys yet).
  "wrong-epoch": {
    fn: (h, ms, i) => {
      const m = ms[i]!;
      if (m.epoch === "ccs") return [];
      send(h, ms.slice(0, i));
      if (m.epoch === "sealed") h.v.send(h.wire.plain(22, m.raw));
      else h.v.send(randomProtection().sealRecord(22, 0x0303, m.raw));
      return "raw";
    },
    alert: () => A.unexpected_message,
  },
  "random-keys": {
    fn: (h, ms, i) => {
      const m = ms[i]!;
      if (m.epoch !== "sealed") return [];
      send(h, ms.slice(0, i));
      h.v.send(randomProtection().sealRecord(22, 0x0303, m.raw));
      return "raw";
    },
    alert: () => A.bad_record_mac,
  },
};

function register<H extends Peer>(s: Scenario<H>): void {
  // Count the messages of each flight once, honestly.
  const probe = s.make();
  s.start?.(probe);
  const shapes: Msg[][] = [];
  for (const f of s.flights) {
    const msgs = f.build(probe);
    shapes.push(msgs);
    send(probe, msgs);
    f.after?.(probe);
  }
  probe.v.expectAlive();

  test(`${s.name}: the honest exchange completes`, () => {
    const h = s.make();
    s.start?.(h);
    for (const f of s.flights) {
      send(h, f.build(h));
      f.after?.(h);
    }
    h.v.expectAlive();
    assert.equal(h.v.handshakes, 1);
  });

  test(`${s.name}: every flight in one-byte records completes`, () => {
    const h = s.make();
    s.start?.(h);
    for (const f of s.flights) {
      for (const m of f.build(h)) {
        if (m.epoch === "ccs") h.v.send(h.ccs!());
        else
          for (const b of m.raw)
            h.v.send(
              m.epoch === "sealed" ? h.wire.rec(22, Uint8Array.of(b)) : h.wire.plain(22, Uint8Array.of(b)),
            );
      }
      f.after?.(h);
    }
    h.v.expectAlive();
    assert.equal(h.v.handshakes, 1);
  });

  shapes.forEach((shape, fi) => {
    shape.forEach((msg, mi) => {
      for (const [mname, mut] of Object.entries(mutations)) {
        const key = `${mname}:${msg.name}`;
        if (s.skip.includes(key)) continue;
        if (mname === "drop" && mi === shape.length - 1) continue; // the victim just waits for it
        if (mname === "swap" && mi === shape.length - 1) continue;
        if ((mname === "truncate" || mname === "retype") && msg.epoch === "ccs") continue;
        if (mname === "pad" && msg.epoch === "ccs") continue;
        if (mname === "truncate" && msg.raw.length === 4) continue; // nothing to cut
        if (mname === "random-keys" && msg.epoch !== "sealed") continue;
        if (mname === "wrong-epoch" && msg.epoch === "ccs") continue;
        const alert = s.expect[key] ?? mut.alert(msg);
        test(`${s.name}: ${mname} ${msg.name} (flight ${fi + 1}) -> ${alertName(alert)}`, () => {
          const h = s.make();
          s.start?.(h);
          for (let j = 0; j < fi; j++) {
            send(h, s.flights[j]!.build(h));
            s.flights[j]!.after?.(h);
          }
          const msgs = s.flights[fi]!.build(h);
          const mutated = mut.fn(h, msgs, mi);
          if (mutated !== "raw") send(h, mutated);
          // Let the script derive whatever keys the victim's answer needs, so its alert is readable.
          try {
            s.flights[fi]!.after?.(h);
          } catch {
            // the victim stopped before answering in full
          }
          h.v.expectFatal(alert);
        });
      }
    });
  });
}

// ---- TLS 1.3, hostile server -> our client ------------------------------------------------------

register({
  name: "matrix 1.3 server flight",
  make: () => hostileServer13(),
  start: (h) => h.s.readHello(),
  flights: [
    {
      build: (h) => {
        const sh = h.s.serverHello();
        h.s.handshakeKeys();
        return [
          { name: "ServerHello", raw: sh, epoch: "plain" },
          { name: "EncryptedExtensions", raw: h.s.encryptedExtensions(), epoch: "sealed" },
          { name: "Certificate", raw: h.s.certificate(), epoch: "sealed" },
          { name: "CertificateVerify", raw: h.s.certificateVerify(), epoch: "sealed" },
          { name: "Finished", raw: h.s.finished(), epoch: "sealed" },
        ];
      },
      after: (h) => {
        h.s.appKeys();
        h.wire.next(20);
      },
    },
  ],
  expect: {
    // The second Finished arrives after the client moved to the server's application keys.
    "duplicate:Finished": A.bad_record_mac,
  },
  skip: [],
});

// ---- TLS 1.3, hostile client -> our server ------------------------------------------------------

register({
  name: "matrix 1.3 client flights",
  make: () => hostileClient13(),
  flights: [
    {
      build: (h) => [{ name: "ClientHello", raw: h.c.hello(), epoch: "plain" }],
      after: (h) => {
        h.c.readServerHello();
        h.c.readServerFlight();
      },
    },
    { build: (h) => [{ name: "Finished", raw: h.c.finished(), epoch: "sealed" }] },
  ],
  expect: {
    // The second ClientHello is plaintext where the server now needs the client's handshake keys.
    "duplicate:ClientHello": A.unexpected_message,
    "duplicate:Finished": A.bad_record_mac,
  },
  skip: [],
});

// ---- TLS 1.2, hostile server -> our client ------------------------------------------------------

register({
  name: "matrix 1.2 server flights",
  make: () => {
    const h = hostileServer12();
    return { ...h, ccs: () => h.s.changeCipherSpec() };
  },
  start: (h) => h.s.readHello(),
  flights: [
    {
      build: (h) => [
        { name: "ServerHello", raw: h.s.serverHello(), epoch: "plain" },
        { name: "Certificate", raw: h.s.certificate(), epoch: "plain" },
        { name: "ServerKeyExchange", raw: h.s.serverKeyExchange(), epoch: "plain" },
        { name: "ServerHelloDone", raw: h.s.serverHelloDone(), epoch: "plain" },
      ],
      after: (h) => {
        h.s.readClientKeyExchange();
        h.s.readClientFinished();
      },
    },
    {
      build: (h) => [
        { name: "ChangeCipherSpec", raw: new Uint8Array(0), epoch: "ccs" },
        { name: "Finished", raw: h.s.finished(), epoch: "sealed" },
      ],
    },
  ],
  expect: {
    // After ChangeCipherSpec nothing unprotected can authenticate (RFC 5246 §6.2.3.3): a second,
    // plaintext ChangeCipherSpec included.
    "wrong-epoch:Finished": A.bad_record_mac,
    "duplicate:ChangeCipherSpec": A.bad_record_mac,
  },
  // Plaintext messages sealed under random keys reach a victim that reads plaintext: what the
  // garbage parses as is not a mutation of the message.
  skip: [
    "wrong-epoch:ServerHello",
    "wrong-epoch:Certificate",
    "wrong-epoch:ServerKeyExchange",
    "wrong-epoch:ServerHelloDone",
    "drop:ChangeCipherSpec",
  ],
});

// ---- TLS 1.2, hostile client -> our server ------------------------------------------------------

register({
  name: "matrix 1.2 client flights",
  make: () => {
    const h = hostileClient12();
    return { ...h, ccs: () => h.c.changeCipherSpec() };
  },
  flights: [
    {
      build: (h) => [{ name: "ClientHello", raw: h.c.hello(), epoch: "plain" }],
      after: (h) => h.c.readServerFlight(),
    },
    {
      build: (h) => [
        { name: "ClientKeyExchange", raw: h.c.clientKeyExchange(), epoch: "plain" },
        { name: "ChangeCipherSpec", raw: new Uint8Array(0), epoch: "ccs" },
        { name: "Finished", raw: h.c.finished(), epoch: "sealed" },
      ],
      after: (h) => h.c.readServerFinish(),
    },
  ],
  expect: {
    "wrong-epoch:Finished": A.bad_record_mac,
    "duplicate:ChangeCipherSpec": A.bad_record_mac,
  },
  skip: ["wrong-epoch:ClientHello", "wrong-epoch:ClientKeyExchange"],
});
