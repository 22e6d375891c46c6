import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { VIEWER_ASSETS } from "../viewerAssets";

/**
 * The viewer: one HTML page whose script and style are inline, each allowed by its SHA-256 in a
 * strict Content-Security-Policy, so the page needs no second request (which would need the function
 * key too) and nothing else can run in it: no other script, no inline handler, no plugin, no frame,
 * no form target, and fetches only to this origin.
 */
export interface ViewerPage {
  readonly html: string;
  readonly headers: Readonly<Record<string, string>>;
}

let page: ViewerPage | undefined;

export function viewerPage(): ViewerPage {
  page ??= buildPage(fs.readFileSync(path.join(VIEWER_ASSETS, "viewer.js"), "utf8"), fs.readFileSync(path.join(VIEWER_ASSETS, "viewer.css"), "utf8"));
  return page;
}

export function buildPage(script: string, style: string): ViewerPage {
  // An inline script or style ends at the first `</script` / `</style`; the bundler escapes those in strings.
  if (/<\/script/i.test(script) || /<\/style/i.test(style)) throw new Error("viewer: the bundled script or style contains a closing tag");
  const csp = [
    "default-src 'none'",
    `script-src '${sha256(script)}'`,
    `style-src '${sha256(style)}'`,
    "connect-src 'self'",
    "img-src 'none'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join("; ");
  const html = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>ACS event ledger</title>
<style>${style}</style>
</head>
<body>
<header>
<h1>ACS event ledger</h1>
<form id="search" role="search">
<label for="q">Number, thread id, call id or raw id</label>
<input id="q" name="q" type="search" autocomplete="off" spellcheck="false" required>
<button type="submit">Open</button>
<button type="button" id="open-quarantine">Quarantine</button>
</form>
</header>
<p id="status" role="status" aria-live="polite"></p>
<main id="view" tabindex="-1"><p>Search for a phone number (SMS), a chat thread id (19:…), a server call id or a user's raw id (8:acs:…).</p></main>
<script>${script}</script>
</body>
</html>
`;
  return {
    html,
    headers: {
      "content-type": "text/html; charset=utf-8",
      "content-security-policy": csp,
      "x-content-type-options": "nosniff",
      "referrer-policy": "no-referrer", // the page's URL carries the function key
      "cache-control": "no-store",
      "x-frame-options": "DENY",
    },
  };
}

function sha256(text: string): string {
  return `sha256-${createHash("sha256").update(text, "utf8").digest("base64")}`;
}
