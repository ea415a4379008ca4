/**
 * The live view's screencast hub (browser-node/live/screencast-hub.ts) on a real Chromium: no CDP
 * connection and no screencast while nobody watches; viewers of one page share one screencast;
 * a viewer that does not acknowledge frames gets no more than it can take (the rest are dropped,
 * not queued) while another viewer keeps getting every frame; input becomes CDP input.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket, { WebSocketServer } from "ws";
import { launchBrowser, type BrowserProcess } from "../../browser-node/chromium/browser-process.ts";
import { SideCdp } from "../../browser-node/artifacts/side-cdp.ts";
import { ScreencastHub, type Viewer } from "../../browser-node/live/screencast-hub.ts";

let browser: BrowserProcess;
/** Frames come at the machine's pace: a loaded one takes longer than expect.poll's default second. */
const POLL = { timeout: 15_000 };
let server: WebSocketServer;
let hub: ScreencastHub;
let agent: SideCdp;
let pageSession: string;

/** A page that paints all the time, and counts the clicks it gets. */
const ANIMATED = `data:text/html,${encodeURIComponent(`<body style="margin:0;background:#0a0"><div id="n" style="font:60px sans-serif">0</div>
<script>let n = 0; window.clicks = 0; addEventListener("mousedown", () => clicks++);
(function tick() { document.getElementById("n").textContent = ++n; requestAnimationFrame(tick); })();</script>`)}`;

interface TestViewer {
  client: WebSocket;
  viewer: Viewer;
  frames: number;
  messages: { t: string; [k: string]: unknown }[];
}

/** A viewer: a real WebSocket whose server side the hub holds; `ack` decides whether it acknowledges frames. */
async function connectViewer(ack: boolean, readOnly = false): Promise<TestViewer> {
  const accepted = new Promise<WebSocket>((resolve) => server.once("connection", resolve));
  const client = new WebSocket(`ws://127.0.0.1:${(server.address() as { port: number }).port}`);
  const viewer = hub.add(await accepted, { readOnly });
  const v: TestViewer = { client, viewer, frames: 0, messages: [] };
  client.on("message", (data) => {
    const message = JSON.parse(String(data));
    v.messages.push(message);
    if (message.t !== "frame") return;
    v.frames++;
    if (ack) client.send(JSON.stringify({ t: "ack" }));
  });
  await new Promise((resolve) => client.once("open", resolve));
  return v;
}

const leave = (v: TestViewer) => v.client.close();

beforeAll(async () => {
  browser = await launchBrowser({ executable: process.env.WC_CHROMIUM_PATH ?? "/usr/lib/chromium/chromium", settings: {}, timeoutMs: 20_000, extras: { offline: true } });
  server = new WebSocketServer({ host: "127.0.0.1", port: 0 });
  await new Promise((resolve) => server.once("listening", resolve));
  hub = new ScreencastHub(() => browser);
  // The "agent": its own connection, on the browser's first page.
  agent = await SideCdp.connect(browser.debugPort, browser.browserPath);
  const { targetInfos } = await agent.send<{ targetInfos: { targetId: string; type: string }[] }>("Target.getTargets");
  const page = targetInfos.find((t) => t.type === "page")!;
  ({ sessionId: pageSession } = await agent.send<{ sessionId: string }>("Target.attachToTarget", { targetId: page.targetId, flatten: true }));
  await agent.send("Page.navigate", { url: ANIMATED }, pageSession);
  // The tests begin on the animated page, not during the navigation that swaps its frame.
  const loaded = async () =>
    (await agent.send<{ result: { value: boolean } }>("Runtime.evaluate", { expression: "location.protocol === 'data:' && document.readyState === 'complete'", returnByValue: true }, pageSession)).result.value;
  for (const deadline = Date.now() + POLL.timeout; !(await loaded()); ) {
    if (Date.now() > deadline) throw new Error("the animated page did not load");
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
});

afterAll(async () => {
  agent?.close();
  server?.close();
  await browser?.stop();
});

describe("the screencast hub", () => {
  it("runs nothing while nobody watches, and stops when the last viewer leaves", async () => {
    expect(hub.connected).toBe(false);
    expect(hub.screencasts).toBe(0);
    const v = await connectViewer(true);
    await expect.poll(() => v.frames, POLL).toBeGreaterThan(3);
    expect(hub.screencasts).toBe(1);
    expect(v.messages.find((m) => m.t === "tabs")).toMatchObject({ tabs: [expect.objectContaining({ url: expect.stringMatching(/^data:/) })] });
    leave(v);
    await expect.poll(() => hub.connected, POLL).toBe(false);
    expect(hub.screencasts).toBe(0);
  });

  it("shares one screencast between viewers of the same page", async () => {
    const started = hub.screencastsStarted;
    const a = await connectViewer(true);
    const b = await connectViewer(true);
    await expect.poll(() => Math.min(a.frames, b.frames), POLL).toBeGreaterThan(3);
    expect(hub.screencasts).toBe(1);
    expect(hub.screencastsStarted - started).toBe(1);
    leave(a);
    const before = b.frames;
    await expect.poll(() => b.frames, POLL).toBeGreaterThan(before + 3); // the other keeps watching
    leave(b);
    await expect.poll(() => hub.connected, POLL).toBe(false);
  });

  it("drops the frames a viewer that does not acknowledge cannot take, and holds none back from the others", async () => {
    const fast = await connectViewer(true);
    const slow = await connectViewer(false);
    await expect.poll(() => fast.frames, POLL).toBeGreaterThan(20);
    // Two frames in flight at most; everything after waits in one slot that newer frames replace.
    expect(slow.frames).toBe(2);
    expect(slow.viewer.dropped).toBeGreaterThan(10);
    expect(slow.viewer.sent).toBe(2);
    // Acknowledged late, it gets the newest frame, not a backlog.
    slow.client.send(JSON.stringify({ t: "ack" }));
    await expect.poll(() => slow.frames, POLL).toBe(3);
    leave(fast);
    leave(slow);
    await expect.poll(() => hub.connected, POLL).toBe(false);
  });

  it("turns a viewer's click into CDP input, and a read-only viewer's into nothing", async () => {
    const clicks = async () => (await agent.send<{ result: { value: number } }>("Runtime.evaluate", { expression: "clicks", returnByValue: true }, pageSession)).result.value;
    const before = await clicks();
    const watcher = await connectViewer(true, true);
    await expect.poll(() => watcher.frames, POLL).toBeGreaterThan(0);
    for (const type of ["mousePressed", "mouseReleased"]) watcher.client.send(JSON.stringify({ t: "mouse", type, x: 10, y: 10, button: "left", clickCount: 1 }));
    const v = await connectViewer(true);
    await expect.poll(() => v.frames, POLL).toBeGreaterThan(0);
    for (const type of ["mousePressed", "mouseReleased"]) v.client.send(JSON.stringify({ t: "mouse", type, x: 10, y: 10, button: "left", clickCount: 1 }));
    await expect.poll(clicks, POLL).toBe(before + 1);
    leave(watcher);
    leave(v);
  });
});
