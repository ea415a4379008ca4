/**
 * Direct mode: the debug URL from /json/list opens Chromium's DevTools frontend through the proxy in a normal
 * tab, and the frontend's own page socket arrives with the token. The "tab" here is another page
 * of the same browser, driven by a bare CDP client that attaches to nothing by itself. This file
 * has a node of its own: another client (Playwright, Puppeteer) would attach to every page and
 * spoil the "attached" signal, and so would the node's recorder (recordSession is off here).
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { connectRaw, type RawClient } from "./support/raw-client.ts";
import { startReadyNode, type ReadyNode } from "./support/ready-node.ts";
import { serveSite } from "./support/site.ts";

let site: Awaited<ReturnType<typeof serveSite>>;
let node: ReadyNode;
let token: string;
let port: number;
let control: RawClient;

beforeAll(async () => {
  site = await serveSite();
  node = await startReadyNode({ keepAlive: true, connectMode: "direct", browserSettings: { recordSession: false } });
  ({ port, token } = node);
  control = await connectRaw(port, token);
});
afterAll(async () => {
  control.socket.close();
  await node.stop();
  await site.close();
});

const callWith = (method: string, params: object) => control.call(method, params);

const attached = async (targetId: string) =>
  ((await callWith("Target.getTargets", {})).targetInfos as any[]).find((t) => t.targetId === targetId)?.attached;

it("serves the frontend without a token and its page socket connects with the one in the URL", async () => {
  const base = `127.0.0.1:${port}`;
  const inspected = (await callWith("Target.createTarget", { url: site.url + "inspected" })).targetId as string;
  expect(await attached(inspected)).toBe(false);

  const targets = (await (await fetch(`http://${base}/json/list?signingKey=${token}`)).json()) as any[];
  const debugUrl = targets.find((t) => t.id === inspected).devtoolsFrontendUrl as string;
  expect(debugUrl.startsWith(`http://${base}/devtools/inspector.html?ws=${base}/devtools/page/${inspected}%3FsigningKey%3D`)).toBe(true);
  const frontend = await fetch(debugUrl.split("?")[0]); // static files need no token
  expect(frontend.status).toBe(200);
  expect(await frontend.text()).toMatch(/<html|<!doctype/i);

  const tab = (await callWith("Target.createTarget", { url: debugUrl })).targetId as string;
  await expect.poll(() => attached(inspected), { timeout: 20_000 }).toBe(true);

  await callWith("Target.closeTarget", { targetId: tab });
  await callWith("Target.closeTarget", { targetId: inspected });
});

it("the same frontend without the token in its ws parameter gets no socket", async () => {
  const base = `127.0.0.1:${port}`;
  const inspected = (await callWith("Target.createTarget", { url: site.url + "not-inspected" })).targetId as string;
  const tab = (await callWith("Target.createTarget", { url: `http://${base}/devtools/inspector.html?ws=${base}/devtools/page/${inspected}` })).targetId;
  await new Promise((r) => setTimeout(r, 2500)); // the frontend had time to try (it connects within ~1 s above)
  expect(await attached(inspected)).toBe(false);
  await callWith("Target.closeTarget", { targetId: tab });
  await callWith("Target.closeTarget", { targetId: inspected });
});
