import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A server listening on 127.0.0.1, and how to stop it. */
export interface LoopbackListener {
  port: number;
  /** Stops listening and destroys every open connection, keep-alive ones included. */
  close(): Promise<void>;
}

/**
 * Starts `server` on 127.0.0.1 (`port` 0: any free port), for the local stand-ins the tests,
 * the soak and the bench start and stop themselves. Rejects if the port cannot be bound.
 */
export async function listenOnLoopback(server: Server, port = 0): Promise<LoopbackListener> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
