import { test } from "node:test";
import assert from "node:assert/strict";
import { escapeKeyPart, unescapeKeyPart, buildKey, isShortenedKeyPart, MAX_KEY_PART } from "../../src/ledger/keys";
import { normalizePhoneNumber, normalizeRawId } from "../../src/identifiers";

test("key parts escape / \\ # ? | % ~, control characters and lone surrogates, reversibly", () => {
  const value = "a/b\\c#d?e|f%g~h\u0000i\u001fj\u007fk\u009fl\ud800m\udc00n😀o";
  const escaped = escapeKeyPart(value);
  assert.equal(escaped, "a%2Fb%5Cc%23d%3Fe%7Cf%25g%7Eh%00i%1Fj%7Fk%9Fl%uD800m%uDC00n😀o");
  assert.equal(unescapeKeyPart(escaped), value);
  assert.equal(buildKey(["x|y", "z"]), "x%7Cy|z");
});

test("a part too long for a key keeps a prefix and a hash of the whole", () => {
  const a = escapeKeyPart("#".repeat(500) + "a");
  const b = escapeKeyPart("#".repeat(500) + "b");
  assert.ok(a.length <= MAX_KEY_PART && b.length <= MAX_KEY_PART);
  assert.notEqual(a, b);
  assert.ok(isShortenedKeyPart(a));
  assert.match(a, /^(%23)+~[0-9a-f]{40}$/, "never cuts an escape sequence in half");
  assert.equal(isShortenedKeyPart(escapeKeyPart("short~")), false);
});

test("phone numbers arrive with and without + and separators; they are one number", () => {
  for (const n of ["15555555555", "+15555555555", "1-555-555-5555", "+1 (555) 555-5555"]) assert.equal(normalizePhoneNumber(n), "+15555555555");
  assert.equal(normalizePhoneNumber("CONTOSO"), "CONTOSO", "alphanumeric sender ids are kept");
});

test("raw ids are parsed by @azure/communication-common and re-serialized canonically", () => {
  assert.deepEqual(normalizeRawId("8:acs:abc_123"), { kind: "communicationUser", rawId: "8:acs:abc_123" });
  assert.deepEqual(normalizeRawId("4:15555555555"), { kind: "phoneNumber", rawId: "4:+15555555555" });
  assert.deepEqual(normalizeRawId("8:orgid:0000-1111"), { kind: "microsoftTeamsUser", rawId: "8:orgid:0000-1111" });
  assert.deepEqual(normalizeRawId("28:orgid:bot-app"), { kind: "microsoftTeamsApp", rawId: "28:orgid:bot-app" });
  assert.deepEqual(normalizeRawId("something else"), { kind: "unknown", rawId: "something else" });
});
