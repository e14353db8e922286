/**
 * The end of a stream of text, for what a launched instance writes to stdout and
 * stderr (SPEC §13: attached to the report when a test fails). A chatty app writes
 * without end, so only the last `maxChars` are kept — and keeping them must cost
 * time in proportion to what arrives: chunks are kept as they came with a running
 * length, whole chunks fall off the front, and the text is joined only when asked for.
 * (Appending to one string and slicing its end copies the whole tail per chunk:
 * about 1.5 ms per line once it is 1 MiB long.)
 */
import { StringDecoder } from 'node:string_decoder';
import { invalidArgument } from '../shared/errors.js';

/** The last `maxChars` characters of what was pushed into it. */
export class OutputTail {
  readonly #maxChars: number;
  /** Kept chunks from `#head` on; those before it have fallen off. */
  #chunks: string[] = [];
  #head = 0;
  /** Characters in the kept chunks. */
  #length = 0;
  /** A UTF-8 character split between two Buffers is decoded once both have come. */
  readonly #decoder = new StringDecoder('utf8');

  constructor(maxChars: number) {
    if (!Number.isSafeInteger(maxChars) || maxChars < 1) throw invalidArgument(`maxChars must be an integer >= 1, not ${String(maxChars)}`);
    this.#maxChars = maxChars;
  }

  /** Adds a chunk as a stream gives it (a Buffer is read as UTF-8). */
  push(chunk: Buffer | string): void {
    const text = typeof chunk === 'string' ? chunk : this.#decoder.write(chunk);
    if (text.length === 0) return;
    this.#chunks.push(text);
    this.#length += text.length;
    // Whole chunks first: they leave without a copy.
    while (this.#length - this.#chunks[this.#head]!.length >= this.#maxChars) {
      this.#length -= this.#chunks[this.#head]!.length;
      this.#head++;
    }
    if (this.#length > this.#maxChars) {
      // Cut the first chunk once; the rest of it stays until it falls off whole.
      this.#chunks[this.#head] = this.#chunks[this.#head]!.slice(this.#length - this.#maxChars);
      this.#length = this.#maxChars;
    }
    // Forget fallen-off chunks now and then, not at every one: a copy of the array costs its length.
    if (this.#head > 1024 && this.#head * 2 > this.#chunks.length) {
      this.#chunks = this.#chunks.slice(this.#head);
      this.#head = 0;
    }
  }

  /** The kept text. */
  text(): string {
    const text = this.#chunks.slice(this.#head).join('');
    // Joined once: the next call gets it without joining again.
    this.#chunks = text === '' ? [] : [text];
    this.#head = 0;
    return text;
  }
}
