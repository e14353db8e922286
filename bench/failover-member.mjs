/**
 * Bench worker for bench/failover.mjs: one member of a rendezvous
 * (DataSocket.connectOrListen, from the built package ../dist/index.js). Told
 * { path }, it joins the rendezvous at that socket path and reports, with wall-clock
 * times, each role it takes and each new link to a leader that is open.
 */
import { performance } from 'node:perf_hooks';
import { DataSocket } from '../dist/index.js';

/** Wall-clock ms with sub-ms precision, comparable across the processes of one machine. */
function now() {
  return performance.timeOrigin + performance.now();
}

function send(message) {
  if (process.connected) process.send(message, undefined, undefined, () => {});
}

process.on('message', ({ path }) => {
  const rendezvous = DataSocket.connectOrListen(() => true, path);
  rendezvous
    .on('role', (role) => send({ type: 'role', role, t: now() }))
    .on('connection', () => {
      if (rendezvous.role === 'follower') send({ type: 'linked', t: now() });
    })
    .on('error', (error) => send({ type: 'error', message: `${error.code}: ${error.message}` }));
});
process.on('disconnect', () => process.exit(0));
send({ type: 'ready' });
