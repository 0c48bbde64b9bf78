/** Every fuzz target (fuzz/targets/<name>.ts, corpus in fuzz/corpus/<name>/). */
export const TARGETS = [
  "record-deframer",
  "handshake-reassembler",
  "client-hello",
  "handshake-messages",
  "extensions",
  "alert",
  "der",
  "x509",
  "session-state",
  "server-flight",
  "client-flight",
] as const;

export type TargetName = (typeof TARGETS)[number];
