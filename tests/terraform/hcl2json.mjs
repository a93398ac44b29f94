// Parses every .tf file under a directory (default: terraform/) with HashiCorp's HCL parser
// (Go hcl/v2 compiled to wasm, npm @cdktf/hcl2json) and fails, naming the file and the parser's
// error, on the first file that does not parse. Called by .ci/terraform.sh:
//   node tests/terraform/hcl2json.mjs [DIR]    (NODE_PATH or --prefix install: see the script)
import { createRequire } from "node:module";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative, resolve } from "node:path";

const root = resolve(process.argv[2] ?? "terraform");
const modules = process.env.HCL2JSON_MODULES ?? resolve("target/hcl2json/node_modules");
const require = createRequire(join(modules, "noop.js"));
const { parse } = require("@cdktf/hcl2json");

function tfFiles(dir) {
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    if (name === ".terraform") continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...tfFiles(path));
    else if (name.endsWith(".tf")) out.push(path);
  }
  return out;
}

const files = tfFiles(root);
if (files.length === 0) {
  console.error(`hcl2json: no .tf files under ${root}`);
  process.exit(1);
}
let failed = 0;
for (const file of files) {
  const name = relative(process.cwd(), file);
  try {
    const json = await parse(name, readFileSync(file, "utf8"));
    if (json === null || typeof json !== "object") throw new Error("parser returned no object");
    console.log(`ok   ${name} (${Object.keys(json).join(", ") || "empty"})`);
  } catch (e) {
    failed += 1;
    console.error(`FAIL ${name}: ${e instanceof Error ? e.message : String(e)}`);
  }
}
if (failed > 0) {
  console.error(`hcl2json: ${failed} of ${files.length} files do not parse`);
  process.exit(1);
}
console.log(`hcl2json: all ${files.length} .tf files parse`);
