/**
 * Bench worker: bench/relay.mjs with the page's bytes MOVED to the host (a transfer
 * list) instead of copied. Real Electron loses such a message's data
 * (electron/electron#34905), so the library never does this; it is measured only to
 * show what the copy the library makes instead costs.
 */
process.env.BENCH_RELAY_MOVE = '1';
await import('./relay.mjs');
