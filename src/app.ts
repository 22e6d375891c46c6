/**
 * The app as the Functions host loads it (package.json `main`, bundled by scripts/bundle-app.ts into
 * one file so that a cold start reads one module instead of hundreds): every function registration.
 */
import "./functions/sms";
import "./functions/chat";
import "./functions/calling";
import "./functions/presence";
import "./functions/read";
