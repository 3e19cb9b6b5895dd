/**
 * A real `paysim serve` for the tests: the repository's .venv console script on a free port with
 * a data directory of its own (SQLite), restartable on the same port and data.
 */

import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from "node:fs";
import { createServer, connect } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";

import { createClient, type PaysimClient } from "../../src/index.js";

/** The repository root: test/support is clients/typescript/dist/test/support once compiled. */
export const ROOT = resolve(fileURLToPath(import.meta.url), "../../../../../..");
export const PAYSIM = join(ROOT, ".venv", "bin", "paysim");
export const PYTHON = join(ROOT, ".venv", "bin", "python");
export const PASSWORD = "correct horse battery";

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  const address = server.address();
  await new Promise<void>((done) => server.close(() => done()));
  if (address === null || typeof address === "string") throw new Error("no port");
  return address.port;
}

async function accepts(port: number): Promise<boolean> {
  return new Promise((done) => {
    const socket = connect(port, "127.0.0.1");
    socket.once("connect", () => {
      socket.destroy();
      done(true);
    });
    socket.once("error", () => done(false));
  });
}

export class PaysimServer {
  proc: ChildProcess | undefined;
  readonly dataDir = mkdtempSync(join(tmpdir(), "paysim-ts-"));
  readonly logPath = join(this.dataDir, "server.log");

  private constructor(
    readonly port: number,
    private readonly env: Record<string, string>,
  ) {}

  static async start(env: Record<string, string> = {}): Promise<PaysimServer> {
    const server = new PaysimServer(await freePort(), env);
    await server.restart();
    return server;
  }

  get target(): string {
    return `127.0.0.1:${this.port}`;
  }

  output(): string {
    return readFileSync(this.logPath, "utf8");
  }

  /** Start the process (again, on the same port and data) and wait until it accepts connections. */
  async restart(): Promise<void> {
    const inherited = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith("PAYSIM_")));
    const log = openSync(this.logPath, "a");
    const proc = spawn(PAYSIM, ["serve", "--listen", this.target], {
      env: { ...inherited, PAYSIM_DATA_DIR: this.dataDir, PAYSIM_BCRYPT_ROUNDS: "4", PYTHONUNBUFFERED: "1", ...this.env },
      stdio: ["ignore", log, log],
    });
    closeSync(log);
    this.proc = proc;
    const deadline = Date.now() + 60_000;
    while (!(await accepts(this.port))) {
      if (proc.exitCode !== null) throw new Error(`paysim serve exited ${proc.exitCode}:\n${this.output()}`);
      if (Date.now() > deadline) throw new Error(`paysim serve did not listen within 60 s:\n${this.output()}`);
      await sleep(100);
    }
  }

  /** SIGTERM (graceful: streams end with SERVER_SHUTTING_DOWN) and wait for the exit. */
  async stop(): Promise<void> {
    const proc = this.proc;
    if (proc === undefined || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise((done) => proc.once("exit", done));
    proc.kill("SIGTERM");
    const timer = setTimeout(() => proc.kill("SIGKILL"), 15_000);
    await exited;
    clearTimeout(timer);
  }

  /** Stop for good and remove the data directory. */
  async close(): Promise<void> {
    await this.stop();
    rmSync(this.dataDir, { recursive: true, force: true });
  }
}

let counter = 0;
export function unique(prefix: string): string {
  counter++;
  return `${prefix}-${process.pid}-${Date.now().toString(36)}-${counter}`;
}

export interface Shop {
  readonly merchantId: string;
  readonly email: string;
  readonly apiKey: string;
}

/** A merchant registered through the SDK, with an API key made by its owner. */
export async function registerShop(target: string): Promise<Shop> {
  const anonymous = await createClient({ target });
  const email = `${unique("owner")}@shop.test`;
  try {
    const reply = await anonymous.merchants.register({
      name: unique("Shop"),
      ownerEmail: email,
      ownerPassword: PASSWORD,
      ownerFullName: "Owner",
    });
    const owner = await createClient({ target, login: { email, password: PASSWORD } });
    const key = await owner.merchants.createApiKey({ name: unique("key") });
    owner.close();
    return { merchantId: reply.merchant?.id ?? "", email, apiKey: key.secret };
  } finally {
    anonymous.close();
  }
}

export async function apiClient(target: string, shop: Shop): Promise<PaysimClient> {
  return createClient({ target, apiKey: shop.apiKey });
}
