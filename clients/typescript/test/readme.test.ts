/**
 * The README's TypeScript section runs as written: the SDK installed into a fresh project with
 * `npm install <folder>`, then the example, against a real server with a merchant registered
 * first (only the target and the owner's email are this run's).
 */

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { promisify } from "node:util";

import { PaysimServer, registerShop, ROOT } from "./support/server.js";

const run = promisify(execFile);
const README = readFileSync(join(ROOT, "README.md"), "utf8");

function section(): string {
  const start = README.indexOf("## The TypeScript client");
  const end = README.indexOf("\n## ", start + 1);
  assert.ok(start >= 0 && end > start, "README.md has a TypeScript section");
  return README.slice(start, end);
}

function block(text: string, language: string): string {
  const found = new RegExp("^```" + language + "\\n([\\s\\S]*?)^```$", "m").exec(text);
  assert.ok(found?.[1], `a ${language} block`);
  return found[1];
}

let server: PaysimServer;

before(async () => {
  server = await PaysimServer.start();
});

after(async () => {
  await server?.close();
});

test("the README's TypeScript example takes a payment from npm install to refunded", async () => {
  const text = section();
  assert.match(block(text, "sh"), /npm install \/path\/to\/paysim\/clients\/typescript/);
  const shop = await registerShop(server.target);
  const app = mkdtempSync(join(tmpdir(), "paysim-app-"));
  writeFileSync(join(app, "package.json"), JSON.stringify({ name: "app", private: true, type: "module" }));
  // --offline: a folder install fetches nothing (the SDK brings its own node_modules).
  await run("npm", ["install", "--offline", "--no-audit", "--no-fund", join(ROOT, "clients", "typescript")], { cwd: app });
  const example = block(text, "typescript")
    .replace('"localhost:50051"', JSON.stringify(server.target))
    .replace('"owner@acme.test"', JSON.stringify(shop.email));
  writeFileSync(join(app, "quickstart.mjs"), example);
  const { stdout } = await run("node", ["quickstart.mjs"], { cwd: app }).finally(() =>
    rmSync(app, { recursive: true, force: true }),
  );
  const documented = [...example.matchAll(/console\.log\(.*\/\/ (.*)$/gm)].map((m) => m[1]?.replace("pay_…", "pay_\\w+"));
  const printed = stdout.trim().split("\n");
  assert.equal(printed.length, documented.length, stdout);
  printed.forEach((line, i) => assert.match(line, new RegExp(`^${documented[i]}$`)));
});
