/**
 * Trying again, for both sides: which answers may pass later, how long to wait before the next
 * try, and the loop itself. The edge's AWS calls, the node's artifact requests, its readiness
 * probe and its link's redials all wait by these rules.
 *
 * Shared by both sides: no Workers or Node APIs (timers are the platform's own on each).
 */

/** An HTTP status that may pass if asked again: 408, 425, 429, a 5xx, or 0 (no answer at all). Any other refusal will not. */
export const mayPassLater = (status: number) => status === 0 || status === 408 || status === 425 || status === 429 || status >= 500;

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export interface Backoff {
  /** The wait after the first failure; it doubles after each one up to `maxDelayMs`. */
  firstDelayMs: number;
  maxDelayMs: number;
  /** Wait a random time in the upper half instead, so callers that failed together do not come back together. */
  jitter?: boolean;
}

/** The wait after failure number `failures` (1: the first try failed). */
export function backoffDelay(backoff: Backoff, failures: number): number {
  const ceiling = Math.min(backoff.maxDelayMs, backoff.firstDelayMs * 2 ** (failures - 1));
  return backoff.jitter ? ceiling / 2 + Math.random() * (ceiling / 2) : ceiling;
}

export interface RetryPolicy extends Backoff {
  /** Tries in all, the first included; unbounded when absent (then `until` bounds them). */
  attempts?: number;
  /** Epoch ms: no wait may end past it. */
  until?: number;
}

/**
 * Calls `once` until it returns, backing off after each failure. A failure is thrown as it is when
 * `again(error, attempt)` says it will not pass later, after the last attempt, or when the wait
 * before the next one would end past `until`.
 */
export async function retrying<T>(policy: RetryPolicy, once: (attempt: number) => Promise<T>, again: (error: unknown, attempt: number) => boolean): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await once(attempt);
    } catch (error) {
      if (!again(error, attempt) || attempt >= (policy.attempts ?? Number.POSITIVE_INFINITY)) throw error;
      const delay = backoffDelay(policy, attempt);
      if (policy.until !== undefined && Date.now() + delay > policy.until) throw error;
      await sleep(delay);
    }
  }
}
