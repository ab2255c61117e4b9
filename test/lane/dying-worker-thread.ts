/** A telemetry worker that starts, then dies (exit code 3) on its first batch or drain: what a crash looks like to the broker side. */
import { parentPort } from 'node:worker_threads';

parentPort?.postMessage({ type: 'ready' });
parentPort?.on('message', (message: { type: string }) => {
  if (message.type === 'batch' || message.type === 'drain') process.exit(3);
});
