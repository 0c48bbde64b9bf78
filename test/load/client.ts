/**
 * A load-test client process (forked by test/load/load.test.ts): node:tls connections to a
 * `typetls server` in echo mode, driven over IPC. `hold` opens connections (each handshakes and
 * echoes one line) and keeps them idle; `release` closes them (close_notify); `run` does handshakes
 * one after another with a fixed number in flight, each with a small request and its echo, and
 * counts failures. Test material only.
 */
import { performance } from "node:perf_hooks";
import * as tls from "node:tls";

export type ToClient =
  | { type: "hold"; port: number; ca: string; count: number; inFlight: number }
  | { type: "release" }
  | { type: "run"; port: number; ca: string; total: number; inFlight: number };

export type FromClient =
  | { type: "held"; open: number; failures: number; firstError?: string; ms: number }
  | { type: "released"; failures: number; firstError?: string }
  | { type: "ran"; ok: number; failures: number; firstError?: string; ms: number; p99Ms: number };

const TIMEOUT_MS = 60_000;

let failures = 0;
let firstError: string | undefined;
function failed(e: unknown): void {
  failures++;
  firstError ??= e instanceof Error ? `${(e as { code?: string }).code ?? ""} ${e.message}` : String(e);
}
function report(): { failures: number; firstError?: string } {
  const r = { failures, ...(firstError !== undefined ? { firstError } : {}) };
  failures = 0;
  firstError = undefined;
  return r;
}

/** Connects, handshakes, sends a line and waits for its echo; resolves with the open socket. */
function echoOnce(port: number, secureContext: tls.SecureContext, line: string): Promise<tls.TLSSocket> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: "127.0.0.1", port, servername: "localhost", secureContext });
    let got = "";
    const timer = setTimeout(() => s.destroy(new Error("no echo in time")), TIMEOUT_MS);
    const fail = (e: Error): void => {
      clearTimeout(timer);
      s.destroy();
      reject(e);
    };
    s.on("error", fail);
    s.once("close", () => fail(new Error(`closed early (got ${JSON.stringify(got)})`)));
    s.once("secureConnect", () => s.write(line));
    s.setEncoding("utf8");
    const onData = (d: string): void => {
      got += d;
      if (got !== line) return;
      clearTimeout(timer);
      s.off("data", onData);
      s.removeAllListeners("close");
      s.removeListener("error", fail);
      resolve(s);
    };
    s.on("data", onData);
  });
}

/** Ends a connection cleanly (close_notify both ways) and waits for it to close. */
function closeCleanly(s: tls.TLSSocket): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => s.destroy(new Error("no close in time")), TIMEOUT_MS);
    s.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    s.once("end", () => {
      clearTimeout(timer);
      resolve();
    });
    s.resume();
    s.end();
  });
}

/** Runs `total` jobs with `inFlight` at a time. */
async function pool(total: number, inFlight: number, job: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < total) await job(next++);
  };
  await Promise.all(Array.from({ length: Math.min(inFlight, total) }, worker));
}

const held: tls.TLSSocket[] = [];

async function onMessage(m: ToClient): Promise<FromClient> {
  if (m.type === "release") {
    const all = held.splice(0);
    await Promise.all(all.map((s) => closeCleanly(s).catch(failed)));
    return { type: "released", ...report() };
  }
  const secureContext = tls.createSecureContext({ ca: m.ca });
  const t0 = performance.now();
  if (m.type === "hold") {
    await pool(m.count, m.inFlight, async (i) => {
      try {
        const s = await echoOnce(m.port, secureContext, `hold ${i}\n`);
        s.on("error", failed); // an idle connection that fails counts too
        s.on("close", () => {
          if (held.includes(s)) failed(new Error("an idle connection was closed by the server"));
        });
        held.push(s);
      } catch (e) {
        failed(e);
      }
    });
    return { type: "held", open: held.length, ...report(), ms: performance.now() - t0 };
  }
  const lat: number[] = [];
  let ok = 0;
  await pool(m.total, m.inFlight, async (i) => {
    const t = performance.now();
    try {
      const s = await echoOnce(m.port, secureContext, `request ${i}\n`);
      await closeCleanly(s);
      ok++;
      lat.push(performance.now() - t);
    } catch (e) {
      failed(e);
    }
  });
  lat.sort((a, b) => a - b);
  const p99Ms = lat[Math.max(0, Math.ceil(lat.length * 0.99) - 1)] ?? 0;
  return { type: "ran", ok, ...report(), ms: performance.now() - t0, p99Ms };
}

process.on("message", (m: ToClient) => {
  onMessage(m).then(
    (r) => process.send?.(r),
    (e: unknown) => {
      failed(e);
      process.send?.({ type: "ran", ok: 0, ...report(), ms: 0, p99Ms: 0 });
    },
  );
});
process.on("disconnect", () => process.exit(0));
