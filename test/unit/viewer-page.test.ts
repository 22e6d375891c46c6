import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { buildPage, viewerPage } from "../../src/read/viewerPage";
import { VIEWER_ASSETS } from "../../src/viewerAssets";
import { PROJECT_ROOT } from "../helpers";

const hash = (text: string) => `sha256-${createHash("sha256").update(text, "utf8").digest("base64")}`;

test("the page's CSP allows exactly its inline script and style, by hash, and nothing else runs or loads", () => {
  const page = viewerPage();
  const script = fs.readFileSync(path.join(VIEWER_ASSETS, "viewer.js"), "utf8");
  const style = fs.readFileSync(path.join(VIEWER_ASSETS, "viewer.css"), "utf8");
  assert.equal(
    page.headers["content-security-policy"],
    `default-src 'none'; script-src '${hash(script)}'; style-src '${hash(style)}'; connect-src 'self'; img-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`,
  );
  assert.ok(page.html.includes(`<script>${script}</script>`));
  assert.equal(page.headers["referrer-policy"], "no-referrer", "the URL carries the function key");
  assert.equal(page.headers["x-content-type-options"], "nosniff");
});

test("the bundled viewer never turns text into markup or code", () => {
  const script = fs.readFileSync(path.join(VIEWER_ASSETS, "viewer.js"), "utf8");
  for (const sink of ["innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function", "srcdoc"]) {
    assert.ok(!script.includes(sink), sink);
  }
  assert.ok(script.length < 20_000, `small: ${script.length} bytes`);
});

test("a script or style that would close its own tag is refused at build time", () => {
  assert.throws(() => buildPage('var a="</script><b>"', ""), /the bundled script or style contains a closing tag/);
  assert.throws(() => buildPage("", "a{}</style>"), /closing tag/);
});

test("the Bicep offers Entra ID sign-in in front of the API and the viewer, off by default", () => {
  const main = fs.readFileSync(path.join(PROJECT_ROOT, "infra", "main.bicep"), "utf8");
  assert.match(main, /param viewerAuthClientId string = ''\n/);
  assert.match(main, /resource functionAppAuth 'Microsoft\.Web\/sites\/config@[\d-]+' = if \(!empty\(viewerAuthClientId\)\) \{\n\s+parent: functionApp\n\s+name: 'authsettingsV2'/);
  assert.match(main, /excludedPaths: \[\n\s+'\/runtime\/webhooks\/eventgrid'\n\s+\]/, "Event Grid's deliveries carry no user token");
});
