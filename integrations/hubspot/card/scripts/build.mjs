// Compile check of the card: bundle HealthCard.jsx with its real dependencies (as HubSpot's build does on
// upload) into dist/, failing on any unresolved import or syntax error. HubSpot builds the uploaded project
// itself; this catches mistakes in CI before an upload.
import { build } from "esbuild";
import { mkdirSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
mkdirSync(resolve(root, "dist"), { recursive: true });
const result = await build({
  entryPoints: [resolve(root, "src/app/cards/HealthCard.jsx")],
  bundle: true,
  outfile: resolve(root, "dist/HealthCard.js"),
  format: "esm",
  target: "es2020",
  jsx: "transform",
  loader: { ".jsx": "jsx" },
  nodePaths: [resolve(root, "src/app/cards/node_modules")],
  logLevel: "info",
  metafile: true,
});
const bytes = Object.values(result.metafile.outputs).reduce((n, o) => n + o.bytes, 0);
console.log(`built dist/HealthCard.js (${bytes} bytes)`);
