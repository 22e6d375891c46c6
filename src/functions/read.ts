import { app } from "@azure/functions";
import { READ_ROUTES, readHandler } from "../read/http";

// The read API: one HTTP function per route, each behind a function key.
for (const route of READ_ROUTES) {
  app.http(route.name, { route: route.route, methods: [route.method], authLevel: "function", handler: readHandler(route) });
}
