/** A telemetry worker that starts, then dies on its first batch (exit code 3): what a crash looks like to the broker side. */
import { parentPort } from 'node:worker_threads';

parentPort?.postMessage({ type: 'ready' });
parentPort?.on('message', (message: { type: string }) => {
  if (message.type === 'batch') process.exit(3);
});
