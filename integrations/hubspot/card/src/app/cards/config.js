// The healthscore deployment the card talks to. It must be listed in app-hsmeta.json permittedUrls.fetch;
// scripts/set-backend.mjs rewrites both for a deployment before `hs project upload`.
export const BACKEND_URL = "https://healthscore.example.com";
