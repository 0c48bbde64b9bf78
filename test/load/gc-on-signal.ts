/**
 * Preloaded (node --expose-gc --import) into the `typetls server` of the load test: on SIGUSR2 it
 * runs full garbage collections, then prints "gc: done <heapUsed>" on stderr, so that the test
 * samples resident memory after the garbage is gone. Test material only; the CLI knows nothing of it.
 */
const gc = (globalThis as { gc?: () => void }).gc;
process.on("SIGUSR2", () => {
  if (gc) for (let i = 0; i < 3; i++) gc();
  // Let freed memory go back (V8 releases pages in the background) before the sample.
  setTimeout(() => process.stderr.write(`gc: done ${gc ? process.memoryUsage().heapUsed : -1}\n`), 200);
});

export {};
