/**
 * How a value looks in a trace (SPEC §13, DATASOCKET_TRACE_VALUES=1): plain JSON a
 * person can read in a timeline and a program can parse, cut down to about 1 KiB so
 * tracing a 10 MB value costs what tracing a small one does. What JSON cannot hold is
 * written with the CLI's `$` markers (cli-json.ts), so one vocabulary reads both.
 */

/** About how many characters of JSON one rendering may take; past it, containers stop with a `$more` marker. */
const MAX_CHARS = 1024;
/** The longest string kept whole; longer ones are cut, with their length noted. */
const MAX_STRING = 256;
/** Containers nested deeper than this are named (`{"$cut":"Array(3)"}`), not walked. */
const MAX_DEPTH = 8;
/** How many bytes of binary are shown in hex. */
const MAX_HEX_BYTES = 32;

const toStringTag = Object.prototype.toString;

/** Where the walk is: what it may still spend, and the objects it is inside (to spot cycles). */
interface Walk {
  budget: number;
  readonly ancestors: object[];
  readonly pointers: string[];
}

/**
 * A JSON-safe rendering of a value sent or received, for a trace record. Kinds JSON
 * lacks are marked so a reader can tell what the value was:
 * `{"$map":[[k,v],…]}`, `{"$set":[…]}`, `{"$date":"<ISO>"}`, `{"$bigint":"12"}`,
 * `{"$undefined":true}`, `{"$number":"NaN"|"Infinity"|"-Infinity"|"-0"}`,
 * `{"$bytes":12,"type":"Uint8Array","hex":"0102…"}`, `{"$error":{name,message}}`,
 * `{"$regexp":"/a/g"}`, `{"$circular":"<JSON pointer>"}`, `{"$cut":"Object"}` (too deep),
 * `{"$more":N}` (N entries left out), `{"$object":{…}}` (an object whose keys start with `$`).
 * Strings over 256 characters and the whole rendering over about 1 KiB are cut with a "…"
 * mark. Never throws: what cannot be read becomes `{"$unrenderable":"<reason>"}`.
 */
export function traceValue(value: unknown): unknown {
  try {
    return render(value, { budget: MAX_CHARS, ancestors: [], pointers: [] }, '', 0);
  } catch (error) {
    // A Proxy or a getter that throws: the trace says so instead of failing the socket.
    return { $unrenderable: reason(error) };
  }
}

function render(value: unknown, walk: Walk, pointer: string, depth: number): unknown {
  switch (typeof value) {
    case 'string':
      return text(value, walk);
    case 'number':
      walk.budget -= 8;
      if (Object.is(value, -0)) return { $number: '-0' };
      return Number.isFinite(value) ? value : { $number: String(value) };
    case 'boolean':
      walk.budget -= 5;
      return value;
    case 'bigint':
      return { $bigint: text(value.toString(), walk) };
    case 'undefined':
      walk.budget -= 18;
      return { $undefined: true };
    case 'symbol':
      return { $symbol: text(value.description ?? '', walk) };
    case 'function':
      return { $function: text(value.name || '(anonymous)', walk) };
  }
  if (value === null) {
    walk.budget -= 4;
    return null;
  }
  return renderObject(value as object, walk, pointer, depth);
}

function renderObject(value: object, walk: Walk, pointer: string, depth: number): unknown {
  const seen = walk.ancestors.indexOf(value);
  if (seen !== -1) return { $circular: walk.pointers[seen] };
  const tag = toStringTag.call(value).slice(8, -1);
  if (ArrayBuffer.isView(value)) return bytes(new Uint8Array(value.buffer, value.byteOffset, value.byteLength), tag, walk);
  if (tag === 'ArrayBuffer' || tag === 'SharedArrayBuffer') return bytes(new Uint8Array(value as ArrayBuffer), tag, walk);
  if (value instanceof Date) {
    walk.budget -= 36;
    return { $date: Number.isNaN(value.getTime()) ? null : value.toISOString() };
  }
  if (value instanceof RegExp) return { $regexp: text(String(value), walk) };
  if (value instanceof Error) {
    const error: Record<string, unknown> = { name: text(String(value.name), walk), message: text(String(value.message), walk) };
    const code = (value as { code?: unknown }).code;
    if (typeof code === 'string' || typeof code === 'number') error.code = code;
    return { $error: error };
  }
  if (depth >= MAX_DEPTH) return { $cut: kind(value, tag) };

  walk.ancestors.push(value);
  walk.pointers.push(pointer);
  try {
    if (value instanceof Map) return { $map: entries(value.entries(), value.size, walk, `${pointer}/$map`, depth, true) };
    if (value instanceof Set) return { $set: entries(value.values(), value.size, walk, `${pointer}/$set`, depth, false) };
    if (Array.isArray(value)) return entries(value.values(), value.length, walk, pointer, depth, false);
    return plainObject(value as Record<string, unknown>, walk, pointer, depth);
  } finally {
    walk.ancestors.pop();
    walk.pointers.pop();
  }
}

/** The members of an array, Set or Map (as `[key, value]` pairs), until the budget runs out. */
function entries(source: Iterator<unknown>, size: number, walk: Walk, pointer: string, depth: number, pairs: boolean): unknown[] {
  const out: unknown[] = [];
  for (let next = source.next(); !next.done; next = source.next()) {
    if (walk.budget <= 0) {
      out.push({ $more: size - out.length });
      break;
    }
    walk.budget -= 2;
    const at = `${pointer}/${out.length}`;
    if (pairs) {
      const [key, member] = next.value as [unknown, unknown];
      out.push([render(key, walk, `${at}/0`, depth + 2), render(member, walk, `${at}/1`, depth + 2)]);
    } else {
      out.push(render(next.value, walk, at, depth + 1));
    }
  }
  return out;
}

function plainObject(value: Record<string, unknown>, walk: Walk, pointer: string, depth: number): unknown {
  // No prototype: a key named "__proto__" stays a key instead of replacing the prototype.
  const out: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
  let marked = false;
  let left = 0;
  for (const key in value) {
    if (!Object.hasOwn(value, key)) continue;
    // Counting on without rendering tells the reader how much was left out.
    if (walk.budget <= 0) {
      left++;
      continue;
    }
    if (key.startsWith('$')) marked = true;
    walk.budget -= key.length + 4;
    const name = key.length > MAX_STRING ? text(key, walk) : key;
    try {
      out[name] = render(value[key], walk, `${pointer}/${key.replaceAll('~', '~0').replaceAll('/', '~1')}`, depth + 1);
    } catch (error) {
      out[name] = { $unrenderable: reason(error) };
    }
  }
  if (left > 0) {
    // Inside $object, so a user's own "$more" key is never mistaken for this one.
    out.$more = left;
    marked = true;
  }
  return marked ? { $object: out } : out;
}

function text(value: string, walk: Walk): string {
  const limit = Math.min(MAX_STRING, Math.max(16, walk.budget));
  if (value.length <= limit) {
    walk.budget -= value.length + 2;
    return value;
  }
  // Not between the two halves of a surrogate pair, which would leave half a character.
  const end = value.charCodeAt(limit - 1) >= 0xd800 && value.charCodeAt(limit - 1) <= 0xdbff ? limit - 1 : limit;
  const cut = `${value.slice(0, end)}…(${value.length} chars)`;
  walk.budget -= cut.length + 2;
  return cut;
}

function bytes(view: Uint8Array, type: string, walk: Walk): unknown {
  const shown = Math.min(view.length, MAX_HEX_BYTES);
  let hex = '';
  for (let i = 0; i < shown; i++) hex += view[i]!.toString(16).padStart(2, '0');
  if (view.length > shown) hex += '…';
  walk.budget -= hex.length + 40;
  return { $bytes: view.length, type, hex };
}

/** What a container cut for depth was, as a reader would name it: `Array(3)`, `Map(2)`, `Object`. */
function kind(value: object, tag: string): string {
  if (Array.isArray(value)) return `Array(${value.length})`;
  if (value instanceof Map || value instanceof Set) return `${tag}(${value.size})`;
  return tag;
}

function reason(error: unknown): string {
  try {
    return error instanceof Error ? `${error.name}: ${error.message}`.slice(0, MAX_STRING) : String(error).slice(0, MAX_STRING);
  } catch {
    return 'unreadable';
  }
}
