// Runs the typetls command from the compiled tree (tests spawn this file; bin/typetls.js is the installed entry).
import { main } from "./main.js";

process.exitCode = await main(process.argv.slice(2));
