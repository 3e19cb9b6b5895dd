/** A TCP proxy in front of the server whose connections the test can cut (a network failure). */

import { createServer, connect, type Server, type Socket } from "node:net";

export class TcpProxy {
  readonly #sockets = new Set<Socket>();
  #server: Server | undefined;
  port = 0;
  /** How many client connections the proxy has accepted. */
  connections = 0;
  /** Called with the bytes of each chunk the client sends; a test cuts the connection from it. */
  onClientData: ((chunk: Buffer, cut: () => void) => void) | undefined;

  constructor(private readonly upstreamPort: number) {}

  async start(): Promise<void> {
    this.#server = createServer((client) => {
      this.connections++;
      const upstream = connect(this.upstreamPort, "127.0.0.1");
      this.#sockets.add(client).add(upstream);
      const cut = (): void => this.cutAll();
      client.on("data", (chunk) => {
        upstream.write(chunk);
        this.onClientData?.(chunk, cut);
      });
      upstream.pipe(client);
      for (const socket of [client, upstream]) {
        socket.on("error", () => undefined);
        socket.on("close", () => {
          this.#sockets.delete(socket);
          client.destroy();
          upstream.destroy();
        });
      }
    });
    await new Promise<void>((done) => this.#server?.listen(0, "127.0.0.1", done));
    const address = this.#server.address();
    if (address === null || typeof address === "string") throw new Error("no port");
    this.port = address.port;
  }

  get target(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** Reset every connection through the proxy, both ways. */
  cutAll(): void {
    for (const socket of this.#sockets) socket.resetAndDestroy();
  }

  async close(): Promise<void> {
    this.cutAll();
    await new Promise<void>((done) => this.#server?.close(() => done()));
  }
}
