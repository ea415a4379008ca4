/** The one set of retry rules (edge/retries.ts): which answers are tried again, the waits between tries, the loop. */
import { describe, expect, it } from "vitest";
import { backoffDelay, mayPassLater, retrying } from "../../../edge/retries.ts";

describe("mayPassLater", () => {
  it.each([0, 408, 425, 429, 500, 502, 503, 504, 599])("tries %i again", (status) => expect(mayPassLater(status)).toBe(true));
  it.each([200, 204, 400, 401, 403, 404, 409, 410, 413, 426])("takes %i as final", (status) => expect(mayPassLater(status)).toBe(false));
});

describe("backoffDelay", () => {
  const waits = (backoff: Parameters<typeof backoffDelay>[0], n: number) => Array.from({ length: n }, (_, i) => backoffDelay(backoff, i + 1));

  it("doubles from the first wait up to the cap: the waits of the AWS calls, the artifact requests and the link's redials", () => {
    expect(waits({ firstDelayMs: 200, maxDelayMs: 2000 }, 6)).toEqual([200, 400, 800, 1600, 2000, 2000]);
    expect(waits({ firstDelayMs: 600, maxDelayMs: 1200 }, 3)).toEqual([600, 1200, 1200]);
    expect(waits({ firstDelayMs: 100, maxDelayMs: 1000 }, 6)).toEqual([100, 200, 400, 800, 1000, 1000]);
  });

  it("with jitter, waits somewhere in the upper half of the same wait, not always the same", () => {
    const backoff = { firstDelayMs: 200, maxDelayMs: 2000, jitter: true };
    for (let failures = 1; failures <= 6; failures++) {
      const ceiling = backoffDelay({ ...backoff, jitter: false }, failures);
      const samples = Array.from({ length: 200 }, () => backoffDelay(backoff, failures));
      for (const wait of samples) {
        expect(wait).toBeGreaterThanOrEqual(ceiling / 2);
        expect(wait).toBeLessThanOrEqual(ceiling);
      }
      expect(new Set(samples).size).toBeGreaterThan(1);
    }
  });
});

describe("retrying", () => {
  const quick = { firstDelayMs: 1, maxDelayMs: 2 };

  /** A call that fails `failures` times, then answers; it keeps the attempt numbers it was given. */
  function flaky(failures: number) {
    const attempts: number[] = [];
    const once = async (attempt: number) => {
      attempts.push(attempt);
      if (attempts.length <= failures) throw new Error(`failure ${attempts.length}`);
      return "answer";
    };
    return { once, attempts };
  }

  it("tries until the call answers, numbering the attempts", async () => {
    const call = flaky(2);
    const seen: number[] = [];
    const again = (_: unknown, attempt: number) => (seen.push(attempt), true);
    await expect(retrying({ ...quick, attempts: 3 }, call.once, again)).resolves.toBe("answer");
    expect(call.attempts).toEqual([1, 2, 3]);
    expect(seen).toEqual([1, 2]);
  });

  it("throws the last failure after the last attempt", async () => {
    const call = flaky(5);
    await expect(retrying({ ...quick, attempts: 3 }, call.once, () => true)).rejects.toThrow("failure 3");
    expect(call.attempts).toEqual([1, 2, 3]);
  });

  it("throws at once what will not pass later", async () => {
    const call = flaky(5);
    await expect(retrying({ ...quick, attempts: 3 }, call.once, () => false)).rejects.toThrow("failure 1");
    expect(call.attempts).toEqual([1]);
  });

  it("gives up rather than wait past `until`", async () => {
    const call = flaky(5);
    await expect(retrying({ ...quick, until: Date.now() - 1 }, call.once, () => true)).rejects.toThrow("failure 1");
    expect(call.attempts).toEqual([1]);
  });

  it("without a number of attempts, tries for as long as `until` allows", async () => {
    const call = flaky(4);
    await expect(retrying({ ...quick, until: Date.now() + 60_000 }, call.once, () => true)).resolves.toBe("answer");
    expect(call.attempts).toEqual([1, 2, 3, 4, 5]);
  });
});
