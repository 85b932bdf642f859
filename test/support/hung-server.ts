// A dependency that hangs: a TCP server on 127.0.0.1 that accepts every connection and never answers (it reads what
// is sent and holds the socket open), as a stuck Meilisearch, LLM, embeddings or speech server does. Nothing here
// speaks HTTP: a client sees its request sent and then silence, until its own deadline.
import { createServer, type Socket } from "node:net";

export interface HungServer {
  url: string;
  /** Connections accepted so far. */
  readonly connections: number;
  stop(): Promise<void>;
}

export async function startHungServer(): Promise<HungServer> {
  const sockets = new Set<Socket>();
  let connections = 0;
  const server = createServer((socket) => {
    connections++;
    sockets.add(socket);
    socket.on("data", () => {});
    socket.on("error", () => {});
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    get connections() {
      return connections;
    },
    async stop() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
