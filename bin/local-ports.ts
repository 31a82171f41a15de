/**
 * The ports `npm start` watches from outside serverless-offline: when serverless-offline has bound
 * its internal port (the `Try:` hint is printed only then), and free ports for it and for its
 * Lambda invocation server.
 */
import { connect, createServer } from 'node:net';

/** Every local server listens on this address only. */
const LOOPBACK = '127.0.0.1';
/** Between two looks at whether the server has bound its port. */
const POLL_MS = 100;

/** Whether something accepts connections on 127.0.0.1:`port`. */
export function isListening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, LOOPBACK);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/**
 * Waits until 127.0.0.1:`port` accepts connections (true), or `gaveUp()` holds (false), e.g.
 * because the process that was to bind it has exited.
 */
export async function waitUntilListening(port: number, gaveUp: () => boolean): Promise<boolean> {
  while (!gaveUp()) {
    if (await isListening(port)) return true;
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
  return false;
}

/**
 * A free port for serverless-offline's Lambda invocation server. serverless.yml leaves it to the
 * system (so local servers side by side do not collide), and serverless-offline then prints its
 * address as "http://127.0.0.1:null"; a port chosen here is the one it prints and listens on.
 */
export async function freeLoopbackPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, LOOPBACK, resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error(`no free port on ${LOOPBACK}`);
  return address.port;
}
