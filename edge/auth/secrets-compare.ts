/**
 * Compares a presented secret with the configured one in constant time: both are hashed first,
 * so neither their contents nor their lengths show in the timing.
 */
const sha256 = async (s: string) => new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(s)));

export async function sameSecret(presented: string | undefined, configured: string | undefined): Promise<boolean> {
  if (!presented || !configured) return false;
  const [a, b] = await Promise.all([sha256(presented), sha256(configured)]);
  return crypto.subtle.timingSafeEqual(a, b);
}

/** The token of an `Authorization: Bearer <token>` header. */
export function bearerToken(header: string | undefined): string | undefined {
  const match = header && /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match ? match[1] : undefined;
}

export const sha256Hex = async (s: string) =>
  Array.from(await sha256(s), (b) => b.toString(16).padStart(2, "0")).join("");
