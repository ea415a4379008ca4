/**
 * The local platform starts again on new ports when one it picked was taken before it listened
 * there (platform.ts): it must know that failure in the shapes Node and Miniflare give it.
 */
import { createServer, type AddressInfo, type Server } from "node:net";
import { Miniflare } from "miniflare";
import { afterAll, beforeAll, expect, it } from "vitest";
import { portTaken } from "../../browser-node/local/platform.ts";

let taken: Server;
let port: number;

beforeAll(async () => {
  taken = createServer();
  await new Promise<void>((resolve) => taken.listen(0, "127.0.0.1", resolve));
  port = (taken.address() as AddressInfo).port;
});
afterAll(() => new Promise<void>((resolve) => taken.close(() => resolve())));

it("knows workerd's taken port, as Miniflare reports it", async () => {
  const mf = new Miniflare({ modules: true, script: "export default { fetch: () => new Response('ok') }", host: "127.0.0.1", port });
  const failure = await mf.ready.then(
    () => undefined,
    (error: unknown) => error,
  );
  await mf.dispose().catch(() => {});
  expect(failure).toBeDefined();
  expect(portTaken(failure)).toBe(true);
});

it("knows Node's taken port, and nothing else", async () => {
  const second = createServer();
  const failure = await new Promise<unknown>((resolve) => second.once("error", resolve).listen(port, "127.0.0.1"));
  expect(portTaken(failure)).toBe(true);
  expect(portTaken(new Error("Chromium not found"))).toBe(false);
  expect(portTaken(undefined)).toBe(false);
});
