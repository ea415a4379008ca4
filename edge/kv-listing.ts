/** Reading a KV namespace's listing whole: KV hands it out a page (at most 1,000 keys) at a time. */

/** The metadata of every key under `prefix` (keys stored without metadata are left out), in key order. */
export async function listMetadata<T>(kv: KVNamespace, prefix: string): Promise<T[]> {
  const found: T[] = [];
  let cursor: string | undefined;
  do {
    const page = await kv.list<T>({ prefix, cursor });
    for (const key of page.keys) if (key.metadata) found.push(key.metadata);
    cursor = page.list_complete ? undefined : page.cursor;
  } while (cursor);
  return found;
}
