import assert from "node:assert/strict";
import { test } from "node:test";
import { AlertDescription as A } from "../../src/alert.js";
import { ClientConfig, ServerConfig } from "../../src/config.js";
import { demo } from "../unit/pair.js";
import { type Bytes, cat, hs, mutate, u8, u16, vec8, vec16, vec24, zeros } from "./bytes.js";
import { table } from "./cases.js";
import { hostileClient12, hostileClient13 } from "./setup.js";

/**
 * Client authentication under attack: a hostile client answering our server's CertificateRequest
 * with mangled Certificate / CertificateVerify messages, TLS 1.3 (RFC 8446 §4.4) and TLS 1.2
 * (RFC 5246 §7.4.6, §7.4.8).
 */

const requireAuth = new ServerConfig({ cert: demo.cert, key: demo.key, ca: demo.ca, clientAuth: "require" });
const requestAuth = new ServerConfig({ cert: demo.cert, key: demo.key, ca: demo.ca, clientAuth: "request" });
const client = new ClientConfig({ ca: demo.ca, cert: demo.clientCert, key: demo.clientKey }).certificate!;
const garbage = [Uint8Array.of(0x30, 3, 2, 1, 0)];

// ---- TLS 1.3 ------------------------------------------------------------------------------------

type H13 = ReturnType<typeof hostileClient13>;
const make13 = () => hostileClient13(requireAuth);
function toClientFlight13(h: H13): void {
  h.v.send(h.wire.plain(22, h.c.hello()));
  h.c.readServerHello();
  h.c.readServerFlight();
  assert.ok(h.c.got.CertificateRequest, "the server asked for a certificate");
}
const sealed13 = (h: H13, ...m: Bytes[]) => h.v.send(...m.map((x) => h.wire.rec(22, x)));

test("1.3 auth: the honest client flight with a certificate completes", () => {
  const h = make13();
  toClientFlight13(h);
  sealed13(h, h.c.certificate(client.chain), h.c.certificateVerify(client.key), h.c.finished());
  h.v.expectAlive();
  assert.equal(h.v.handshakes, 1);
});

test("1.3 auth: an empty Certificate is fine when the server only requests one", () => {
  const h = hostileClient13(requestAuth);
  toClientFlight13(h);
  sealed13(h, h.c.certificate([]), h.c.finished());
  h.v.expectAlive();
  assert.equal(h.v.handshakes, 1);
});

table("1.3 auth, client Certificate and CertificateVerify", make13, [
  // §4.4.2.4: no certificate where one is required -> certificate_required.
  {
    name: "empty Certificate",
    alert: A.certificate_required,
    run: (h) => {
      toClientFlight13(h);
      sealed13(h, h.c.certificate([]), h.c.finished());
    },
  },
  // §4.4.2: the context must echo the CertificateRequest's.
  {
    name: "certificate_request_context that differs",
    alert: A.illegal_parameter,
    run: (h) => {
      toClientFlight13(h);
      sealed13(h, h.c.certificate(client.chain, Uint8Array.of(9, 9)));
    },
  },
  {
    name: "Certificate truncated",
    alert: A.decode_error,
    run: (h) => {
      toClientFlight13(h);
      sealed13(h, mutate.truncate(h.c.certificate(client.chain)));
    },
  },
  {
    name: "Certificate padded",
    alert: A.decode_error,
    run: (h) => {
      toClientFlight13(h);
      sealed13(h, mutate.pad(h.c.certificate(client.chain)));
    },
  },
  {
    name: "zero-length cert_data",
    alert: A.decode_error,
    run: (h) => {
      toClientFlight13(h);
      sealed13(h, hs(11, vec8(h.c.requestContext()), vec24(vec24(), vec16())));
    },
  },
  {
    name: "entry list overflows",
    alert: A.decode_error,
    run: (h) => {
      toClientFlight13(h);
      sealed13(h, hs(11, vec8(h.c.requestContext()), u8(0), u16(500), zeros(10)));
    },
  },
  {
    name: "unsolicited entry extension",
    alert: A.unsupported_extension,
    run: (h) => {
      toClientFlight13(h);
      sealed13(
        h,
        hs(11, vec8(h.c.requestContext()), vec24(vec24(client.chain[0]!), vec16(u16(0x5555), u16(0)))),
      );
    },
  },
  {
    name: "garbage certificate",
    alert: A.bad_certificate,
    run: (h) => {
      toClientFlight13(h);
      sealed13(h, h.c.certificate(garbage));
    },
  },
  {
    name: "Certificate missing (Finished first)",
    alert: A.unexpected_message,
    run: (h) => {
      toClientFlight13(h);
      sealed13(h, h.c.finished());
    },
  },
  {
    name: "CertificateVerify missing",
    alert: A.unexpected_message,
    run: (h) => {
      toClientFlight13(h);
      sealed13(h, h.c.certificate(client.chain), h.c.finished());
    },
  },
  {
    name: "Certificate twice",
    alert: A.unexpected_message,
    run: (h) => {
      toClientFlight13(h);
      const c = h.c.certificate(client.chain);
      sealed13(h, c, c);
    },
  },
  {
    name: "CertificateVerify truncated",
    alert: A.decode_error,
    run: (h) => {
      toClientFlight13(h);
      sealed13(h, h.c.certificate(client.chain), mutate.truncate(h.c.certificateVerify(client.key)));
    },
  },
  {
    name: "CertificateVerify padded",
    alert: A.decode_error,
    run: (h) => {
      toClientFlight13(h);
      sealed13(h, h.c.certificate(client.chain), mutate.pad(h.c.certificateVerify(client.key)));
    },
  },
  // §4.4.3: a signature that does not verify -> decrypt_error.
  {
    name: "CertificateVerify with a bad signature",
    alert: A.decrypt_error,
    run: (h) => {
      toClientFlight13(h);
      const cv = (s: Bytes) => {
        const c = s.slice();
        c[c.length - 3]! ^= 1;
        return c;
      };
      sealed13(h, h.c.certificate(client.chain), h.c.certificateVerify(client.key, 0x0403, cv));
    },
  },
  // §4.4.3: a scheme the server did not offer in its CertificateRequest -> illegal_parameter.
  {
    name: "CertificateVerify with an unknown scheme",
    alert: A.illegal_parameter,
    run: (h) => {
      toClientFlight13(h);
      sealed13(h, h.c.certificate(client.chain), h.c.certificateVerify(client.key, 0x0777));
    },
  },
  {
    name: "CertificateVerify with rsa_pkcs1_sha256",
    alert: A.illegal_parameter,
    run: (h) => {
      toClientFlight13(h);
      sealed13(h, h.c.certificate(client.chain), h.c.certificateVerify(client.key, 0x0401));
    },
  },
  {
    name: "CertificateVerify twice",
    alert: A.unexpected_message,
    run: (h) => {
      toClientFlight13(h);
      const c = h.c.certificate(client.chain);
      const cv = h.c.certificateVerify(client.key);
      sealed13(h, c, cv, cv);
    },
  },
  {
    name: "CertificateVerify without a Certificate",
    alert: A.unexpected_message,
    run: (h) => {
      toClientFlight13(h);
      sealed13(h, h.c.certificateVerify(client.key));
    },
  },
  {
    name: "Certificate in plaintext",
    alert: A.unexpected_message,
    run: (h) => {
      toClientFlight13(h);
      h.v.send(h.wire.plain(22, h.c.certificate(client.chain)));
    },
  },
]);

// ---- TLS 1.2 ------------------------------------------------------------------------------------

type H12 = ReturnType<typeof hostileClient12>;
const make12 = () => hostileClient12({ ca: demo.ca, clientAuth: "require" });
function toClientFlight12(h: H12): void {
  h.v.send(h.wire.plain(22, h.c.hello()));
  h.c.readServerFlight();
  assert.ok(h.c.got.CertificateRequest, "the server asked for a certificate");
}
const plain12 = (h: H12, ...m: Bytes[]) => h.v.send(...m.map((x) => h.wire.plain(22, x)));

test("1.2 auth: the honest client flight with a certificate completes", () => {
  const h = make12();
  toClientFlight12(h);
  plain12(h, h.c.certificate(client.chain), h.c.clientKeyExchange(), h.c.certificateVerify(client.key));
  h.v.send(h.c.changeCipherSpec(), h.wire.rec(22, h.c.finished()));
  h.c.readServerFinish();
  h.v.expectAlive();
  assert.equal(h.v.handshakes, 1);
});

table("1.2 auth, client Certificate and CertificateVerify", make12, [
  // RFC 5246 §7.4.6: "If client authentication is required ... a fatal handshake_failure alert".
  {
    name: "empty Certificate",
    alert: A.handshake_failure,
    run: (h) => {
      toClientFlight12(h);
      plain12(h, h.c.certificate([]), h.c.clientKeyExchange());
    },
  },
  {
    name: "Certificate missing (ClientKeyExchange first)",
    alert: A.unexpected_message,
    run: (h) => {
      toClientFlight12(h);
      plain12(h, h.c.clientKeyExchange());
    },
  },
  {
    name: "Certificate truncated",
    alert: A.decode_error,
    run: (h) => {
      toClientFlight12(h);
      plain12(h, mutate.truncate(h.c.certificate(client.chain)));
    },
  },
  {
    name: "Certificate padded",
    alert: A.decode_error,
    run: (h) => {
      toClientFlight12(h);
      plain12(h, mutate.pad(h.c.certificate(client.chain)));
    },
  },
  {
    name: "zero-length certificate entry",
    alert: A.decode_error,
    run: (h) => {
      toClientFlight12(h);
      plain12(h, hs(11, vec24(vec24())));
    },
  },
  {
    name: "garbage certificate",
    alert: A.bad_certificate,
    run: (h) => {
      toClientFlight12(h);
      plain12(h, h.c.certificate(garbage));
    },
  },
  {
    name: "CertificateVerify missing",
    alert: A.unexpected_message,
    run: (h) => {
      toClientFlight12(h);
      plain12(h, h.c.certificate(client.chain), h.c.clientKeyExchange());
      h.v.send(h.c.changeCipherSpec());
    },
  },
  {
    name: "CertificateVerify before ClientKeyExchange",
    alert: A.unexpected_message,
    run: (h) => {
      toClientFlight12(h);
      plain12(h, h.c.certificate(client.chain), h.c.certificateVerify(client.key));
    },
  },
  {
    name: "CertificateVerify truncated",
    alert: A.decode_error,
    run: (h) => {
      toClientFlight12(h);
      plain12(
        h,
        h.c.certificate(client.chain),
        h.c.clientKeyExchange(),
        mutate.truncate(h.c.certificateVerify(client.key)),
      );
    },
  },
  {
    name: "CertificateVerify padded",
    alert: A.decode_error,
    run: (h) => {
      toClientFlight12(h);
      plain12(
        h,
        h.c.certificate(client.chain),
        h.c.clientKeyExchange(),
        mutate.pad(h.c.certificateVerify(client.key)),
      );
    },
  },
  {
    name: "CertificateVerify with a bad signature",
    alert: A.decrypt_error,
    run: (h) => {
      toClientFlight12(h);
      const bad = (s: Bytes) => {
        const c = s.slice();
        c[c.length - 3]! ^= 1;
        return c;
      };
      plain12(
        h,
        h.c.certificate(client.chain),
        h.c.clientKeyExchange(),
        h.c.certificateVerify(client.key, 0x0403, bad),
      );
    },
  },
  {
    name: "CertificateVerify with an unknown scheme",
    alert: A.illegal_parameter,
    run: (h) => {
      toClientFlight12(h);
      plain12(
        h,
        h.c.certificate(client.chain),
        h.c.clientKeyExchange(),
        h.c.certificateVerify(client.key, 0x0777),
      );
    },
  },
  {
    name: "CertificateVerify with an RSA scheme for an EC key",
    alert: A.illegal_parameter,
    run: (h) => {
      toClientFlight12(h);
      plain12(
        h,
        h.c.certificate(client.chain),
        h.c.clientKeyExchange(),
        h.c.certificateVerify(client.key, 0x0401),
      );
    },
  },
  {
    name: "CertificateVerify twice",
    alert: A.unexpected_message,
    run: (h) => {
      toClientFlight12(h);
      const c = h.c.certificate(client.chain);
      const k = h.c.clientKeyExchange();
      const cv = h.c.certificateVerify(client.key);
      plain12(h, c, k, cv, cv);
    },
  },
]);

void cat;
