/**
 * Bench worker: this library's Node DataSocket, from the built package
 * (../dist/index.js), values encoded and decoded in this process. A job with
 * `schema` listens with the zod schema of the small value (bench/small-schema.mjs).
 */
import { DataSocket } from '../dist/index.js';
import { job } from './common.mjs';
import { playRole } from './datasocket-roles.mjs';

const listenOptions = job.schema ? { schema: (await import('./small-schema.mjs')).smallValueSchema } : undefined;
playRole(DataSocket, listenOptions);
