import { app } from "@azure/functions";
import { READ_ROUTES, readHandler, VIEWER_ROUTE, viewerHandler } from "../read/http";

// The read API: one HTTP function per route, and the viewer page, each behind a function key.
for (const route of READ_ROUTES) {
  app.http(route.name, { route: route.route, methods: [route.method], authLevel: "function", handler: readHandler(route) });
}
app.http(VIEWER_ROUTE.name, { route: VIEWER_ROUTE.route, methods: ["GET"], authLevel: "function", handler: viewerHandler });
