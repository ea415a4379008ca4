/**
 * CDP clients through the edge: each client's socket joined to the channel its node opened,
 * message for message, close frames included; on every ending the edge decides, the node is told
 * why (it closes its clients). The node is the fake node (fake-node.ts); the tests drive its side
 * of each channel.
 */
import { runDurableObjectAlarm } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { CloseCode } from "../../edge/node-protocol.ts";
import { signCdpToken, signingKey } from "../../edge/tokens.ts";
import { closeOf, nextMessage, scriptedCalls, upgrade, type CallHandler, type FakeNode } from "./fake-node.ts";
import { api, env, newProject, patchRecord, sessionObject, startSession, taskEvent, taskOf } from "./helpers.ts";

/** A client through the edge, and the node's end of its channel. */
async function connect(node: FakeNode, token: string, path = "") {
  const before = node.channels.length;
  const { res, ws, body } = await upgrade(`/cdp/${node.sessionId}${path}?signingKey=${encodeURIComponent(token)}`);
  if (!ws) throw new Error(`refused: ${res.status} ${body?.message}`);
  return { client: ws, channel: node.channels[before] };
}

const bytes = (n: number, seed: number) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff);
const digest = async (data: string | ArrayBuffer) =>
  new Uint8Array(await crypto.subtle.digest("SHA-256", typeof data === "string" ? new TextEncoder().encode(data) : data)).join(",");

describe("the relay", () => {
  let project: Awaited<ReturnType<typeof newProject>>;
  beforeAll(async () => {
    project = await newProject({ name: "relay", concurrency: 20 });
  });
  const running = async (handler?: CallHandler) => {
    const { created, node } = await startSession(project.key, project.projectId, {}, undefined, { handler });
    return { token: created.body.signingKey as string, node: node.link, id: node.sessionId };
  };

  it("passes text as text and binary as binary, unchanged both ways, 3 MiB messages included", async () => {
    const { token, node } = await running();
    const { client, channel } = await connect(node, token);
    expect(node.calls.at(-1)).toMatchObject({ op: "open", path: "/devtools/browser", expiresAt: expect.any(Number) });

    const text = JSON.stringify({ id: 1, method: "Runtime.evaluate", params: { expression: "'ü'.repeat(3)" } });
    let got = nextMessage(channel);
    client.send(text);
    expect(await got).toBe(text);
    got = nextMessage(client);
    channel.send(bytes(1000, 1));
    const binary = await got;
    expect(binary).toBeInstanceOf(ArrayBuffer);
    expect(new Uint8Array(binary as ArrayBuffer)).toEqual(bytes(1000, 1));

    const big = bytes(3 * 1024 * 1024, 7);
    got = nextMessage(channel);
    client.send(big);
    expect(await digest((await got) as ArrayBuffer)).toBe(await digest(big.buffer));
    const bigText = "x".repeat(3 * 1024 * 1024 - 10) + "ünïcödé";
    got = nextMessage(client);
    channel.send(bigText);
    const echoed = await got;
    expect(typeof echoed).toBe("string");
    expect(echoed === bigText).toBe(true);

    // Order holds: a burst arrives as it was sent.
    const seen: string[] = [];
    const all = new Promise<void>((resolve) =>
      channel.addEventListener("message", (e) => {
        seen.push(String(e.data));
        if (seen.length === 100) resolve();
      }),
    );
    for (let i = 0; i < 100; i++) client.send(String(i));
    await all;
    expect(seen).toEqual(Array.from({ length: 100 }, (_, i) => String(i)));
    client.close(1000);
  });

  it("serves several clients at once, each on its own channel, and passes each close on with its code and reason", async () => {
    const { token, node } = await running();
    const a = await connect(node, token);
    const b = await connect(node, token, `/devtools/page/ABCDEF`);
    expect(node.calls.filter((c) => c.op === "open").map((c) => (c as { path: string }).path)).toEqual(["/devtools/browser", "/devtools/page/ABCDEF"]);
    const toA = nextMessage(a.channel);
    const toB = nextMessage(b.channel);
    a.client.send("for a");
    b.client.send("for b");
    expect([await toA, await toB]).toEqual(["for a", "for b"]);

    const channelClosed = closeOf(a.channel);
    a.client.close(4321, "client says bye");
    expect(await channelClosed).toEqual({ code: 4321, reason: "client says bye" });

    // Chromium died under the node: it closes the channel as the proxy closes its clients.
    const clientClosed = closeOf(b.client);
    b.channel.close(CloseCode.browserCrashed.code, CloseCode.browserCrashed.reason);
    expect(await clientClosed).toEqual(CloseCode.browserCrashed);
  });

  it("refuses the upgrade with the node's answer: 404 for no such target, 503 while ending, 503 without a link", async () => {
    const answers: Record<string, { ok: false; status: number; message: string }> = {
      "/devtools/page/GONE": { ok: false, status: 404, message: "no such target" },
      "/devtools/page/ENDING": { ok: false, status: 503, message: "session is ending" },
    };
    const { token, node, id } = await running(async (call, n) => (call.op === "open" && answers[call.path]) || scriptedCalls(call, n));
    for (const [path, answer] of Object.entries(answers)) {
      const { res, ws, body } = await upgrade(`/cdp/${id}${path}?signingKey=${token}`);
      expect(ws).toBeUndefined();
      expect([res.status, body?.message]).toEqual([answer.status, answer.message]);
    }
    // A node that opened the channel and then failed: the client is refused, the channel closed.
    const halfway = await running(async (call, n) => {
      if (call.op !== "open") return scriptedCalls(call, n);
      await scriptedCalls(call, n);
      return { ok: false, status: 503, message: "session is ending" };
    });
    const refused = await upgrade(`/cdp/${halfway.id}?signingKey=${halfway.token}`);
    expect([refused.res.status, refused.body?.message]).toEqual([503, "session is ending"]);
    expect(await halfway.node.channelCloses[0]).toEqual(CloseCode.nodeError);

    node.ws.close(1001, "network blip"); // the link is down (its grace runs): nobody to open a channel
    await node.closed;
    const { res, body } = await upgrade(`/cdp/${id}?signingKey=${token}`);
    expect([res.status, body?.message]).toEqual([503, "The session's browser node is not connected"]);
  });

  // Release, timeout and a stopped task are the edge's to decide: the node is told why, and closes
  // its channels with the code for it (its own part, tested in test/browser-node/channels.test.ts);
  // each close frame reaches its client as the node sent it.
  const endings: [string, (s: { id: string; node: FakeNode }) => Promise<unknown>, string, { code: number; reason: string }][] = [
    ["release", (s) => api(project.key, "POST", `/v1/sessions/${s.id}`, { status: "REQUEST_RELEASE" }), "released", CloseCode.released],
    [
      "timeout",
      async (s) => {
        await patchRecord(s.id, () => ({ expiresAt: Date.now() - 1 }));
        await runDurableObjectAlarm(sessionObject(s.id));
      },
      "timed-out",
      CloseCode.timedOut,
    ],
    [
      "task stop",
      async (s) => taskEvent({ taskArn: (await taskOf(s.id)).taskArn, lastStatus: "STOPPED", startedBy: `wc-${s.id}`, containers: [{ exitCode: 137 }] }),
      "error",
      CloseCode.nodeError,
    ],
  ];

  it.each(endings)("on %s the node is told why, and the close frame it sends each client reaches it", async (_name, end, reason, close) => {
    const { token, node, id } = await running();
    const clients = [await connect(node, token), await connect(node, token, "/devtools/page/P1")];
    const closes = clients.map((c) => Promise.all([closeOf(c.client), closeOf(c.channel)]));
    await end({ id, node });
    expect(await node.next((m) => m.t === "end")).toMatchObject({ t: "end", reason });
    // The clients are the node's to close: what it still sends (answers in flight) reaches them first.
    const lastWords = clients.map((c) => nextMessage(c.client));
    for (const c of clients) c.channel.send("last words");
    expect(await Promise.all(lastWords)).toEqual(["last words", "last words"]);
    for (const c of clients) c.channel.close(close.code, close.reason);
    for (const closed of closes) expect(await closed).toEqual([close, close]);
  });

  it("passes a client's token expiry to the node, whose 4002 reaches that client alone", async () => {
    const { token, node, id } = await running();
    const expiresAtMs = Date.now() + 2_000;
    const short = await signCdpToken(await signingKey(env), { sessionId: id, projectId: project.projectId, expiresAtMs });
    const brief = await connect(node, short);
    expect(node.calls.at(-1)).toMatchObject({ op: "open", expiresAt: Math.floor(expiresAtMs / 1000) * 1000 });
    const lasting = await connect(node, token);
    const briefClosed = closeOf(brief.client);
    brief.channel.close(CloseCode.tokenExpired.code, CloseCode.tokenExpired.reason);
    expect(await briefClosed).toEqual(CloseCode.tokenExpired);
    const still = nextMessage(lasting.channel);
    lasting.client.send("still here");
    expect(await still).toBe("still here");
    lasting.client.close(1000);
  });
});
