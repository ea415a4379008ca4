/**
 * API keys: shown once at creation, stored only as SHA-256 hashes in KV.
 *   apikey:<sha256 hex>              → {projectId, keyId}           (the lookup on every request)
 *   projectkey:<projectId>:<keyId>   → hash, metadata {createdAt, name?}  (listing and revocation)
 * A lookup by hash needs no string comparison of secrets: an unknown key simply has no entry.
 *
 * Known keys are also remembered in this isolate for OWNER_CACHE_MS, which spares a KV read on
 * nearly every request. KV itself caches reads for up to 60 s at each location, so a revoked key
 * stops working everywhere within about a minute either way (at once in the revoking isolate).
 */
import { listMetadata } from "../kv-listing.ts";
import { sha256Hex } from "./secrets-compare.ts";

export interface ApiKeyOwner {
  projectId: string;
  keyId: string;
}

export interface ApiKeyInfo {
  id: string;
  projectId: string;
  createdAt: string;
  name?: string;
}

const byHash = (hash: string) => `apikey:${hash}`;
const byProject = (projectId: string, keyId?: string) => `projectkey:${projectId}:${keyId ?? ""}`;

const randomToken = (bytes: number) => {
  const raw = crypto.getRandomValues(new Uint8Array(bytes));
  return btoa(String.fromCharCode(...raw)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
};

const OWNER_CACHE_MS = 30_000;
const OWNER_CACHE_SIZE = 1_000;
const owners = new Map<string, { owner: ApiKeyOwner; until: number }>();

export async function lookupApiKey(kv: KVNamespace, key: string): Promise<ApiKeyOwner | undefined> {
  const hash = await sha256Hex(key);
  const cached = owners.get(hash);
  if (cached && cached.until > Date.now()) return cached.owner;
  const owner = (await kv.get<ApiKeyOwner>(byHash(hash), "json")) ?? undefined;
  owners.delete(hash);
  if (owner) {
    if (owners.size >= OWNER_CACHE_SIZE) owners.delete(owners.keys().next().value!);
    owners.set(hash, { owner, until: Date.now() + OWNER_CACHE_MS });
  }
  return owner;
}

/** Creates a key for the project (or imports `preset`); the returned `key` is never stored. */
export async function createApiKey(
  kv: KVNamespace,
  projectId: string,
  options: { name?: string; preset?: string } = {},
): Promise<(ApiKeyInfo & { key: string }) | "taken"> {
  const key = options.preset ?? `wc_${randomToken(32)}`;
  const hash = await sha256Hex(key);
  if (await kv.get(byHash(hash))) return "taken";
  const info: ApiKeyInfo = { id: `key_${randomToken(12)}`, projectId, createdAt: new Date().toISOString() };
  if (options.name) info.name = options.name;
  await kv.put(byProject(projectId, info.id), hash, { metadata: info });
  await kv.put(byHash(hash), JSON.stringify({ projectId, keyId: info.id } satisfies ApiKeyOwner));
  return { ...info, key };
}

export function listApiKeys(kv: KVNamespace, projectId: string): Promise<ApiKeyInfo[]> {
  return listMetadata<ApiKeyInfo>(kv, byProject(projectId));
}

/** Removes the key; false when the project has no such key. */
export async function revokeApiKey(kv: KVNamespace, projectId: string, keyId: string): Promise<boolean> {
  const hash = await kv.get(byProject(projectId, keyId));
  if (!hash) return false;
  owners.delete(hash);
  await kv.delete(byHash(hash));
  await kv.delete(byProject(projectId, keyId));
  return true;
}
