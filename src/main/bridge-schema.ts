/**
 * zod schemas for every message a page may send to the host. A page is not
 * trusted: anything that does not match is refused with
 * ERR_DATASOCKET_INVALID_ARGUMENT before the host looks at it.
 */
import { z } from 'zod';
import { MAX_FRAME_LIMIT } from '../shared/protocol.js';
import type { ClientMessage } from '../shared/bridge-protocol.js';

const MAX_ID = 2 ** 31;
const MAX_TIMEOUT_MS = 0x7fff_ffff;

const ownId = z.number().int().min(1).max(MAX_ID);
const anyId = z
  .number()
  .int()
  .min(-MAX_ID)
  .max(MAX_ID)
  .refine((id) => id !== 0, 'ids are never 0');

const name = z
  .string()
  .min(1)
  .max(1024)
  .refine((s) => !s.includes('\0'), 'no NUL in names');

const options = z
  .object({
    maxFrameBytes: z.number().int().min(1).max(MAX_FRAME_LIMIT),
    maxBufferedBytes: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER),
    highWaterMark: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
    handshakeTimeoutMs: z.number().int().min(1).max(MAX_TIMEOUT_MS),
    acceptTimeoutMs: z.number().int().min(1).max(MAX_TIMEOUT_MS),
    token: z.string().min(1).max(4096).optional(),
  })
  .strict();

const endpoint = { name, port: z.number().int().min(0).max(65535).nullable(), options };

/** A page's message, checked. */
export const clientMessageSchema = z.discriminatedUnion('t', [
  z.object({ t: z.literal('connect'), id: ownId, ...endpoint }).strict(),
  z.object({ t: z.literal('listen'), id: ownId, ...endpoint }).strict(),
  z.object({ t: z.literal('verdict'), id: anyId, accept: z.boolean() }).strict(),
  z.object({ t: z.literal('send'), id: anyId, bytes: z.custom<Uint8Array>((v) => v instanceof Uint8Array, 'bytes must be a Uint8Array'), count: z.number().int().min(0).max(MAX_ID) }).strict(),
  z.object({ t: z.literal('end'), id: anyId }).strict(),
  z.object({ t: z.literal('destroy'), id: anyId }).strict(),
]);

// The schema and the protocol's types must describe the same messages.
type Checked = z.infer<typeof clientMessageSchema>;
const sameShape: [Checked] extends [ClientMessage] ? ([ClientMessage] extends [Checked] ? true : false) : false = true;
void sameShape;
