// The explorer's build: the files the page needs from npm packages, copied into vendor/
// (committed, embedded in the oracle binary). The page's own files are plain JavaScript and
// CSS served as written. `node build.mjs --check` builds nothing and fails when the committed
// copy is not what the lockfile's packages give (CI runs it after `npm ci`).
import { readFileSync, writeFileSync, mkdirSync, existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const vendored = [
  // Natural Earth's 1:110m country outlines as TopoJSON (public domain; world-atlas is ISC).
  ["node_modules/world-atlas/countries-110m.json", "vendor/countries-110m.json"],
  ["node_modules/world-atlas/LICENSE", "vendor/LICENSE-world-atlas"],
];

const check = process.argv.includes("--check");
let stale = 0;
for (const [from, to] of vendored) {
  const source = join(here, from);
  if (!existsSync(source)) {
    console.error(`${from} is missing: run npm ci in ${here} first`);
    process.exit(2);
  }
  const bytes = readFileSync(source);
  const target = join(here, to);
  if (check) {
    const committed = existsSync(target) ? readFileSync(target) : null;
    if (!committed || !committed.equals(bytes)) {
      console.error(`${to} is not what ${from} gives: run node build.mjs and commit the result`);
      stale += 1;
    }
  } else {
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, bytes);
    console.log(`${to}: ${bytes.length} bytes`);
  }
}
if (check) {
  if (stale > 0) process.exit(1);
  console.log(`the explorer's vendored files are fresh (${vendored.length} checked)`);
}
