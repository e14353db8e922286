/**
 * A zod 4 object schema matching the bench's small value (bench/common.mjs,
 * smallValue): what an app would give `schema` to receive such values typed.
 * bench/requests.mjs prices it on the receiving side of the small-value rate.
 */
import { z } from 'zod';

export const smallValueSchema = z.object({
  id: z.number().int(),
  name: z.string(),
  active: z.boolean(),
  score: z.number(),
  tags: z.array(z.string()),
});
