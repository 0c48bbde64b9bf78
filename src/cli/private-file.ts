import { chmodSync, renameSync, unlinkSync, writeFileSync } from "node:fs";

/**
 * Writes `text` to `path`, readable by its owner only (0600), through a temporary file and a rename:
 * a reader never sees half a file, and secrets (sessions, ticket keys) never sit world-readable.
 */
export function writePrivateFile(path: string, text: string): void {
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    writeFileSync(tmp, text, { mode: 0o600 });
    chmodSync(tmp, 0o600); // the mode of writeFileSync applies only to a new file
    renameSync(tmp, path);
  } catch (e) {
    try {
      unlinkSync(tmp);
    } catch {
      // nothing to clean up
    }
    throw e;
  }
}
