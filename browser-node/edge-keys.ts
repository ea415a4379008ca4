/**
 * The edge's public keys when the task environment carries none (WC_JWKS unset): fetched from
 * `<edge>/.well-known/jwks.json` with node:http (jose's remote set would load undici, ~10 MB),
 * then served by jose's local key set. An unknown `kid` refetches, at most every 30 s, so a
 * rotated key is picked up without letting bad tokens hammer the edge.
 */
import { createLocalJWKSet, errors, type JSONWebKeySet, type JWTVerifyGetKey } from "jose";
import { requestJson } from "./http-json.ts";

const REFETCH_AFTER_MS = 30_000;

export function edgeKeySet(edgeUrl: URL): JWTVerifyGetKey {
  const url = new URL("/.well-known/jwks.json", edgeUrl);
  let keys: JWTVerifyGetKey | undefined;
  let fetchedAt = 0;
  let loading: Promise<void> | undefined;

  const load = () =>
    (loading ??= requestJson(url, { timeoutMs: 5000 })
      .then((res) => {
        if (res.status !== 200) throw new Error(`edge keys answered ${res.status}`);
        keys = createLocalJWKSet(res.body as JSONWebKeySet);
        fetchedAt = Date.now();
      })
      .finally(() => (loading = undefined)));

  return async (header, token) => {
    if (!keys) await load();
    try {
      return await keys!(header, token);
    } catch (err) {
      if (!(err instanceof errors.JWKSNoMatchingKey) || Date.now() - fetchedAt < REFETCH_AFTER_MS) throw err;
      await load();
      return keys!(header, token);
    }
  };
}
