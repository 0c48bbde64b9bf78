#!/usr/bin/env node
// The typetls command. The TypeScript sources are compiled to dist/ by `npm install` (prepare).
import { existsSync } from "node:fs";

const main = new URL("../dist/src/cli/main.js", import.meta.url);
if (!existsSync(main)) {
  console.error("typetls: dist/ is missing; run `npm install` (or `npm run build`) first");
  process.exit(2);
}
const { main: run } = await import(main.href);
process.exitCode = await run(process.argv.slice(2));
