/**
 * Objects flowing down a pipeline one at a time: a source cmdlet reads its rows page by page as
 * the next stage asks, Where-Object and ForEach-Object pass each on as it comes, and a cmdlet
 * taking identities consumes them in batched transactions, so 100,000 users never sit in memory
 * at once. A stage that needs all of its input (Sort-Object, Measure-Object…) collects it.
 */
export class ObjectStream implements AsyncIterable<unknown> {
  #used = false;
  constructor(readonly source: AsyncIterable<unknown>) {}

  [Symbol.asyncIterator](): AsyncIterator<unknown> {
    // One pass only: a source is a cursor over the database, not a list.
    if (this.#used) throw new Error('a pipeline stream was read twice');
    this.#used = true;
    return this.source[Symbol.asyncIterator]();
  }

  static map(input: AsyncIterable<unknown>, fn: (item: unknown) => Promise<unknown[]>): ObjectStream {
    return new ObjectStream(
      (async function* () {
        for await (const item of input) yield* await fn(item);
      })(),
    );
  }
}

/** A stage's input or output: a list, a stream, or nothing (the first stage). */
export type StageData = unknown[] | ObjectStream | null;

export async function collect(data: StageData): Promise<unknown[] | null> {
  if (!(data instanceof ObjectStream)) return data;
  const out: unknown[] = [];
  for await (const x of data) out.push(x);
  return out;
}
