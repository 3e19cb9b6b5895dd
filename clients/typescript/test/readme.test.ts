/**
 * The READMEs' TypeScript runs as written, the SDK installed into a fresh project with
 * `npm install <folder>`, against a real server: the root README's TypeScript section (one block,
 * with a merchant registered first: only the target and the owner's email are this run's), and
 * the client's own README, whose TypeScript blocks in order are one script, type-checked with
 * the package's TypeScript and run with PAYSIM_TARGET naming the server. Each `console.log`
 * with a comment prints what the comment says (`…` standing for an id).
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
const SDK = join(ROOT, "clients", "typescript");
const SDK_README = readFileSync(join(SDK, "README.md"), "utf8");

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

/** Every block of `language`, in order. */
function blocks(text: string, language: string): string[] {
  return [...text.matchAll(new RegExp("^```" + language + "\\n([\\s\\S]*?)^```$", "gm"))].map((m) => m[1] ?? "");
}

/** A fresh ESM project with the SDK installed from its folder, as the READMEs say. */
async function appWithSdk(): Promise<string> {
  const app = mkdtempSync(join(tmpdir(), "paysim-app-"));
  writeFileSync(join(app, "package.json"), JSON.stringify({ name: "app", private: true, type: "module" }));
  // --offline: a folder install fetches nothing (the SDK brings its own node_modules).
  await run("npm", ["install", "--offline", "--no-audit", "--no-fund", SDK], { cwd: app });
  return app;
}

/** The line each commented `console.log` of `script` prints, as a pattern (`…`: an id). */
function documentedOutput(script: string): RegExp[] {
  return [...script.matchAll(/console\.log\(.*\/\/ (.*)$/gm)].map((m) => {
    const escaped = (m[1] ?? "").replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    return new RegExp(`^${escaped.replaceAll("…", "\\w+")}$`);
  });
}

function assertPrinted(stdout: string, documented: RegExp[]): void {
  const printed = stdout.trim().split("\n");
  assert.equal(printed.length, documented.length, stdout);
  printed.forEach((line, i) => assert.match(line, documented[i] ?? /^$/, stdout));
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
  const app = await appWithSdk();
  const example = block(text, "typescript")
    .replace('"localhost:50051"', JSON.stringify(server.target))
    .replace('"owner@acme.test"', JSON.stringify(shop.email));
  writeFileSync(join(app, "quickstart.mjs"), example);
  const { stdout } = await run("node", ["quickstart.mjs"], { cwd: app }).finally(() =>
    rmSync(app, { recursive: true, force: true }),
  );
  assertPrinted(stdout, documentedOutput(example));
});

test("the client README's walk-through is one script: payments, refunds, 3-D Secure, errors, events, webhooks", async () => {
  const [install] = blocks(SDK_README, "sh");
  assert.match(install ?? "", /npm install \/path\/to\/paysim\/clients\/typescript/);
  const script = blocks(SDK_README, "typescript").join("\n");
  const app = await appWithSdk();
  try {
    writeFileSync(join(app, "walkthrough.ts"), script);
    const tsc = join(SDK, "node_modules", "typescript", "bin", "tsc");
    const types = ["--typeRoots", join(SDK, "node_modules", "@types"), "--types", "node"];
    const strict = ["--strict", "--noUncheckedIndexedAccess", "--skipLibCheck"];
    await run("node", [tsc, ...strict, "--target", "es2022", "--module", "nodenext", ...types, "walkthrough.ts"], { cwd: app })
      .catch((error: { stdout?: string }) => assert.fail(`the walk-through does not compile:\n${error.stdout}`));
    const env = { ...process.env, PAYSIM_TARGET: server.target };
    const { stdout } = await run("node", ["walkthrough.js"], { cwd: app, env });
    assertPrinted(stdout, documentedOutput(script));
  } finally {
    rmSync(app, { recursive: true, force: true });
  }
});
