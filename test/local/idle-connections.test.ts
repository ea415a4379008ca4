/**
 * The local platform's servers keep an idle keep-alive connection open longer than the 5 s after
 * which workerd drops one and common clients reuse theirs (Node's agent 5 s, undici 4 s): a
 * request a client writes onto a connection the server is dropping at that moment is lost, and a
 * lost POST /v1/sessions cannot safely be sent again. Through wrangler's dev proxy, ten sessions at
 * a time lost creates and releases that way ("503 Your worker restarted mid-request").
 */
import { AwsClient } from "aws4fetch";
import { Agent, request } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startLocalPlatform, type LocalPlatform } from "../../browser-node/local/platform.ts";

/** Past workerd's (and Node's default) 5 s keep-alive. */
const IDLE_MS = 6_500;

interface Call {
  method?: string;
  headers?: Record<string, string>;
  body?: string;
}

/** Sends one request through `agent`: the status, and whether it went on a connection used before. */
function send(url: string, agent: Agent, call: Call = {}): Promise<{ status: number; reused: boolean }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent, method: call.method ?? "GET", headers: call.headers }, (res) => {
      res.resume();
      res.on("end", () => resolve({ status: res.statusCode ?? 0, reused: req.reusedSocket }));
    });
    req.on("error", reject);
    req.end(call.body);
  });
}

/** Two requests on one client connection with an idle pause between them; `call` makes each (a signature is good once). */
async function twiceAfterIdle(url: string, call: () => Promise<Call> | Call = () => ({})) {
  // One connection, kept by the client for as long as the server keeps it.
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  try {
    const first = await send(url, agent, await call());
    await new Promise((resolve) => setTimeout(resolve, IDLE_MS));
    const second = await send(url, agent, await call());
    return { first, second };
  } finally {
    agent.destroy();
  }
}

describe("idle keep-alive connections on the local platform", () => {
  let platform: LocalPlatform;
  beforeAll(async () => {
    platform = await startLocalPlatform({});
  });
  afterAll(async () => {
    await platform?.stop();
  });

  it("the edge still answers on a client connection left idle past workerd's 5 s", async () => {
    const edge = await twiceAfterIdle(`${platform.edgeUrl}/v1/sessions`, () => ({ headers: { "X-BB-API-Key": platform.apiKey } }));
    expect(edge.first).toEqual({ status: 200, reused: false });
    expect(edge.second).toEqual({ status: 200, reused: true });
  });

  // The edge's workerd is the client here, and drops its idle connections after 5 s itself.
  it("the ECS stand-in keeps a connection idle past workerd's 5 s too", async () => {
    // It answers only the signed AWS API (nothing unsigned): a DescribeTasks as the edge signs it.
    const { AWS_ACCESS_KEY_ID: accessKeyId, AWS_SECRET_ACCESS_KEY: secretAccessKey } = platform.secrets;
    const ecs = new AwsClient({ accessKeyId, secretAccessKey, region: "us-east-1", service: "ecs", retries: 0 });
    const describeTasks = async (): Promise<Call> => {
      const signed = await ecs.sign(platform.standIn.url, {
        method: "POST",
        headers: { "x-amz-target": "AmazonEC2ContainerServiceV20141113.DescribeTasks", "content-type": "application/x-amz-json-1.1" },
        body: JSON.stringify({ cluster: "wallcrawler", tasks: [] }),
      });
      return { method: "POST", headers: Object.fromEntries(signed.headers), body: await signed.text() };
    };
    const standIn = await twiceAfterIdle(platform.standIn.url, describeTasks);
    expect(standIn.first).toEqual({ status: 200, reused: false });
    expect(standIn.second).toEqual({ status: 200, reused: true });
  });
});
