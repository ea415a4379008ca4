/**
 * Starts, once for the whole edge suite, what the Worker under test talks to over loopback: the
 * local ECS stand-in (SigV4-checked, recording every call; the tests play the browser node)
 * behind a fault injector, and its record for the tests (behind a secret of this run), an
 * independent moto_server, and a real Chromium behind the fake node (fake-node.ts) for the debug
 * URLs, the DevTools frontend and the relay.
 * Secrets are generated per run.
 */
import { randomBytes } from "node:crypto";
import type { TestProject } from "vitest/node";
import { startEcsStandIn } from "../../../browser-node/local/ecs-stand-in.ts";
import { generateSecrets } from "../../../browser-node/local/dev-secrets.ts";
import { startMoto } from "./moto.ts";
import { startChromium } from "./chromium.ts";
import { startFaultProxy } from "./fault-proxy.ts";
import { startStandInRecord } from "./stand-in-record.ts";

export default async function setup(project: TestProject) {
  const secrets = await generateSecrets();
  const region = "us-east-1";
  const standIn = await startEcsStandIn({
    region,
    runner: "record",
    credentials: { accessKeyId: secrets.AWS_ACCESS_KEY_ID, secretAccessKey: secrets.AWS_SECRET_ACCESS_KEY },
  });
  const recordSecret = randomBytes(32).toString("base64url");
  const record = await startStandInRecord(standIn, recordSecret);
  const ecs = await startFaultProxy(standIn.url);
  const moto = await startMoto();
  const chromium = await startChromium();
  project.provide("secrets", { ...secrets });
  project.provide("standInUrl", standIn.url);
  project.provide("standInRecord", { url: record.url, secret: recordSecret });
  project.provide("ecsUrl", ecs.url);
  project.provide("moto", { url: moto.url, region: moto.region, subnet: moto.subnet, securityGroup: moto.securityGroup, allowed: moto.allowed, denied: moto.denied });
  project.provide("chromiumPort", chromium.port);
  return async () => {
    await chromium.close();
    await moto.close();
    await ecs.close();
    await record.close();
    await standIn.close();
  };
}
