/** An HTTP server that records webhook deliveries as received: raw body and headers. */

import { createServer, type IncomingHttpHeaders, type Server } from "node:http";

export interface Delivery {
  readonly body: Buffer;
  readonly headers: IncomingHttpHeaders;
}

export class WebhookReceiver {
  readonly deliveries: Delivery[] = [];
  #server: Server | undefined;
  #waiters: (() => void)[] = [];
  url = "";

  async start(): Promise<void> {
    this.#server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on("data", (chunk: Buffer) => chunks.push(chunk));
      request.on("end", () => {
        this.deliveries.push({ body: Buffer.concat(chunks), headers: request.headers });
        response.writeHead(200).end("ok");
        for (const wake of this.#waiters.splice(0)) wake();
      });
    });
    await new Promise<void>((done) => this.#server?.listen(0, "127.0.0.1", done));
    const address = this.#server.address();
    if (address === null || typeof address === "string") throw new Error("no port");
    this.url = `http://127.0.0.1:${address.port}/hooks`;
  }

  /** Wait until a delivery satisfies `match`, at most `timeoutMs`. */
  async waitFor(match: (delivery: Delivery) => boolean, timeoutMs = 20_000): Promise<Delivery> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.deliveries.find(match);
      if (found !== undefined) return found;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no matching delivery within ${timeoutMs} ms (${this.deliveries.length} received)`);
      await new Promise<void>((wake) => {
        this.#waiters.push(wake);
        setTimeout(wake, Math.min(left, 500));
      });
    }
  }

  async close(): Promise<void> {
    await new Promise<void>((done) => this.#server?.close(() => done()));
  }
}
