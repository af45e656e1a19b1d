// Point the card at a deployment: `npm run set-backend -- https://health.acme.com`
// rewrites config.js, permittedUrls.fetch and the OAuth redirect URL in app-hsmeta.json.
import { readFileSync, writeFileSync } from "node:fs";

const url = (process.argv[2] || "").replace(/\/+$/, "");
if (!/^https:\/\/[^/]+$/.test(url)) {
  console.error("usage: npm run set-backend -- https://your-healthscore-host");
  process.exit(2);
}
writeFileSync("src/app/cards/config.js", `export const BACKEND_URL = ${JSON.stringify(url)};\n`);
const meta = JSON.parse(readFileSync("src/app/app-hsmeta.json", "utf8"));
meta.config.permittedUrls.fetch = [url];
meta.config.auth.redirectUrls = [`${url}/oauth/hubspot/callback`];
writeFileSync("src/app/app-hsmeta.json", JSON.stringify(meta, null, 2) + "\n");
console.log(`card now calls ${url}`);
