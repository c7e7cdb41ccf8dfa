// Builds the matcher benchmark for wasm32-wasip1 and runs it under Node's
// WASI (Node >= 20: `node shared/benches/run-wasm.mjs`, from the repository).
// The program is the native one (`benches/matcher.rs`) with `--wasm`.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { WASI } from "node:wasi";

const targetDir = process.env.CARGO_TARGET_DIR ?? "target";
const build = execFileSync(
  "cargo",
  ["bench", "-p", "patchbay-shared", "--bench", "matcher", "--no-run",
   "--target", "wasm32-wasip1", "--message-format", "json"],
  { encoding: "utf8", env: { ...process.env, CARGO_TARGET_DIR: targetDir }, stdio: ["ignore", "pipe", "inherit"] },
);
const artifact = build
  .split("\n")
  .filter((line) => line.startsWith("{"))
  .map((line) => JSON.parse(line))
  .find((message) => message.reason === "compiler-artifact" && message.target?.name === "matcher");
const wasmPath = artifact.filenames.find((name) => name.endsWith(".wasm"));

const wasi = new WASI({ version: "preview1", args: ["matcher", "--wasm"], env: {} });
const module = await WebAssembly.compile(readFileSync(wasmPath));
const instance = await WebAssembly.instantiate(module, wasi.getImportObject());
console.log(`wasm (${wasmPath.split("/").pop()}, node ${process.version}):`);
wasi.start(instance);
