/**
 * zod schemas for every message a page may send to the host. A page is not
 * trusted: anything that does not match is refused with
 * ERR_DATASOCKET_INVALID_ARGUMENT before the host looks at it.
 */
import * as z from 'zod/mini';
import { MAX_FRAME_LIMIT } from '../../shared/protocol.js';
import type { ClientMessage } from '../../shared/bridge-protocol.js';

// zod/mini, not zod: the same checks, a tenth of the bundle an app's main carries.
const MAX_ID = 2 ** 31;
const MAX_TIMEOUT_MS = 0x7fff_ffff;

/** An integer in [min, max]. */
const integer = (min: number, max: number) => z.number().check(z.int(), z.minimum(min), z.maximum(max));

const ownId = integer(1, MAX_ID);
const anyId = integer(-MAX_ID, MAX_ID).check(z.refine((id) => id !== 0, 'ids are never 0'));

const name = z.string().check(
  z.minLength(1),
  z.maxLength(1024),
  z.refine((s) => !s.includes('\0'), 'no NUL in names'),
);

const options = z.strictObject({
  maxFrameBytes: integer(1, MAX_FRAME_LIMIT),
  maxBufferedBytes: integer(1, Number.MAX_SAFE_INTEGER),
  highWaterMark: integer(0, Number.MAX_SAFE_INTEGER),
  handshakeTimeoutMs: integer(1, MAX_TIMEOUT_MS),
  acceptTimeoutMs: integer(1, MAX_TIMEOUT_MS),
  keepAliveMs: z.optional(integer(0, MAX_TIMEOUT_MS)),
  token: z.optional(z.string().check(z.minLength(1), z.maxLength(4096))),
  traceValues: z.optional(z.literal(true)),
});

const endpoint = { name, port: z.nullable(integer(0, 65535)), options };

/** A page's message, checked. */
export const clientMessageSchema = z.discriminatedUnion('t', [
  z.strictObject({ t: z.literal('connect'), id: ownId, ...endpoint }),
  z.strictObject({ t: z.literal('listen'), id: ownId, ...endpoint, elect: z.optional(z.boolean()) }),
  z.strictObject({ t: z.literal('verdict'), id: anyId, accept: z.boolean() }),
  z.strictObject({ t: z.literal('send'), id: anyId, bytes: z.custom<Uint8Array>((v) => v instanceof Uint8Array, 'bytes must be a Uint8Array'), count: integer(0, MAX_ID) }),
  z.strictObject({ t: z.literal('end'), id: anyId }),
  z.strictObject({ t: z.literal('destroy'), id: anyId }),
]);

// The schema and the protocol's types must describe the same messages.
type Checked = z.infer<typeof clientMessageSchema>;
const sameShape: [Checked] extends [ClientMessage] ? ([ClientMessage] extends [Checked] ? true : false) : false = true;
void sameShape;
