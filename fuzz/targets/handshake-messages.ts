import { isDeepStrictEqual } from "node:util";
import { decodeCertificate12, encodeCertificate12 } from "../../src/handshake/messages/certificate.js";
import {
  type CertificateRequest12,
  decodeCertificateRequest12,
  describeCertificateRequest12,
  encodeCertificateRequest12,
} from "../../src/handshake/messages/certificate-request.js";
import type { HandshakeMessage } from "../../src/handshake/messages/framing.js";
import {
  decodeNewSessionTicket12,
  encodeNewSessionTicket12,
} from "../../src/handshake/messages/new-session-ticket12.js";
import {
  decodeServerHello,
  describeServerHello,
  encodeServerHello,
} from "../../src/handshake/messages/server-hello.js";
import {
  decodeServerKeyExchange,
  describeServerKeyExchange,
  encodeServerKeyExchange,
} from "../../src/handshake/messages/server-key-exchange.js";
import {
  decodeCertificateVerify,
  decodeClientKeyExchange,
  decodeFinished,
  decodeHelloRequest,
  decodeServerHelloDone,
  encodeCertificateVerify,
  encodeClientKeyExchange,
  encodeFinished,
  encodeServerHelloDone,
} from "../../src/handshake/messages/simple.js";
import {
  decodeCertificate13,
  decodeCertificateRequest13,
  decodeEncryptedExtensions,
  decodeKeyUpdate,
  decodeNewSessionTicket13,
  encodeCertificate13,
  encodeCertificateRequest13,
  encodeEncryptedExtensions,
  encodeKeyUpdate,
  encodeNewSessionTicket13,
  HELLO_RETRY_REQUEST_RANDOM,
} from "../../src/handshake/messages/tls13.js";
import { equalBytes } from "../../src/wire/bytes.js";
import { check, decodes, InvariantError } from "../support/invariants.js";
import { decodeKnownExtension } from "./extensions.js";

interface Codec<T> {
  decode(body: Uint8Array): T;
  encode(m: T): HandshakeMessage;
  describe?(m: T): void;
  /** Extension bodies to run through their own decoders, and from which side they came. */
  extensions?(m: T): { list: readonly { type: number; data: Uint8Array }[]; from: "client" | "server" };
}

const MAX_CERTS = 10;

function codec<T>(c: Codec<T>): Codec<unknown> {
  return c as Codec<unknown>;
}

/** Every handshake message decoder but ClientHello (its own target), by selector. */
const CODECS: Codec<unknown>[] = [
  codec({
    decode: decodeServerHello,
    encode: encodeServerHello,
    describe: (m) => {
      describeServerHello(m);
      equalBytes(m.random, HELLO_RETRY_REQUEST_RANDOM);
    },
    extensions: (m) => ({ list: m.extensions, from: "server" }),
  }),
  codec({
    decode: decodeEncryptedExtensions,
    encode: encodeEncryptedExtensions,
    extensions: (m) => ({ list: m, from: "server" }),
  }),
  codec({ decode: (b) => decodeCertificate12(b, MAX_CERTS), encode: encodeCertificate12 }),
  codec({
    decode: (b) => decodeCertificate13(b, MAX_CERTS),
    encode: encodeCertificate13,
    extensions: (m) => ({ list: m.entries.flatMap((e) => e.extensions), from: "server" }),
  }),
  codec<CertificateRequest12>({
    decode: decodeCertificateRequest12,
    encode: encodeCertificateRequest12,
    describe: describeCertificateRequest12,
  }),
  codec({
    decode: decodeCertificateRequest13,
    encode: encodeCertificateRequest13,
    extensions: (m) => ({ list: m.extensions, from: "server" }),
  }),
  codec({
    decode: decodeServerKeyExchange,
    encode: encodeServerKeyExchange,
    describe: describeServerKeyExchange,
  }),
  codec({ decode: (b) => decodeClientKeyExchange(b, "ECDHE"), encode: encodeClientKeyExchange }),
  codec({ decode: (b) => decodeClientKeyExchange(b, "RSA"), encode: encodeClientKeyExchange }),
  codec({ decode: decodeCertificateVerify, encode: encodeCertificateVerify }),
  codec({ decode: decodeNewSessionTicket12, encode: encodeNewSessionTicket12 }),
  codec({
    decode: decodeNewSessionTicket13,
    encode: encodeNewSessionTicket13,
    extensions: (m) => ({ list: m.extensions, from: "server" }),
  }),
  codec({ decode: decodeKeyUpdate, encode: encodeKeyUpdate }),
  codec({ decode: (b) => decodeFinished(b, 12), encode: encodeFinished }),
  codec({ decode: (b) => decodeFinished(b, 32), encode: encodeFinished }),
  codec({ decode: (b) => decodeFinished(b, 48), encode: encodeFinished }),
  codec({ decode: decodeServerHelloDone, encode: encodeServerHelloDone }),
  codec({ decode: decodeHelloRequest, encode: encodeServerHelloDone }),
];

/**
 * Handshake message bodies. Input: a selector byte (CODECS index, modulo), then the body. Only
 * TLSError; what decodes re-encodes to a body that decodes to the same value; descriptions and the
 * extensions inside go through their own code too.
 */
export function fuzz(data: Buffer): void {
  if (data.length === 0) return;
  const c = CODECS[data[0]! % CODECS.length]!;
  const body = new Uint8Array(data.subarray(1));
  // Wrapped: some decoders return nothing (ServerHelloDone) even when they accept.
  const decoded = decodes(() => ({ m: c.decode(body) }));
  if (decoded === undefined) return;
  const m = decoded.m;
  let back: unknown;
  try {
    back = c.decode(c.encode(m).body);
  } catch (e) {
    throw new InvariantError(`selector ${data[0]}: the re-encoded message is refused: ${String(e)}`);
  }
  check(isDeepStrictEqual(back, m), `selector ${data[0]}: message does not round-trip`);
  c.describe?.(m);
  const exts = c.extensions?.(m);
  if (exts) for (const e of exts.list) decodeKnownExtension(e.type, e.data, exts.from);
}
