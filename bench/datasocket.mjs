/**
 * Bench worker: this library's Node DataSocket, from the built package
 * (../dist/index.js), values encoded and decoded in this process. A job with
 * `schema` listens with the zod schema of the small value (bench/small-schema.mjs);
 * a job with `trace` (a directory) runs with DATASOCKET_TRACE set to it, as an app
 * whose every process traces (SPEC §13).
 */
import { DataSocket } from '../dist/index.js';
import { job } from './common.mjs';
import { playRole } from './datasocket-roles.mjs';

// Read when each socket is made, so setting it before any is enough.
if (job.trace) process.env.DATASOCKET_TRACE = job.trace;
const listenOptions = job.schema ? { schema: (await import('./small-schema.mjs')).smallValueSchema } : undefined;
playRole(DataSocket, listenOptions);
