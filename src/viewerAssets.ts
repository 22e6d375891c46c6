import * as path from "node:path";

/**
 * Where the build puts the viewer's script and style (scripts/bundle-app.ts): `src/viewer/` of the
 * build. This module sits at the top of src so that `__dirname` is that folder's parent both in the
 * app bundle (src/app.bundle.js) and in the unbundled build the tests load.
 */
export const VIEWER_ASSETS = path.join(__dirname, "viewer");
