/**
 * Builds the bundle (the image's program, also used by the Dockerfile and SIGTERM tests) and
 * starts one browser node that the client and token-attack tests share.
 */
import { execFileSync } from "node:child_process";
import { exportJWK } from "jose";
import type { TestProject } from "vitest/node";
import { EdgeRecorder } from "./support/edge-recorder.ts";
import { makeSigningKey } from "./support/keys.ts";
import { ROOT, startNode } from "./support/node-process.ts";

export interface SharedNode {
  port: number;
  sessionId: string;
  projectId: string;
  /** The test signing key's private half, so test files can sign tokens. */
  privateJwk: Record<string, unknown>;
  publicJwk: Record<string, unknown>;
}

declare module "vitest" {
  export interface ProvidedContext {
    sharedNode: SharedNode;
  }
}

export default async function setup(project: TestProject) {
  execFileSync(process.execPath, [`${ROOT}browser-node/build.mjs`], { stdio: "inherit" });
  const edge = new EdgeRecorder();
  const key = await makeSigningKey();
  const node = startNode({ edgeUrl: await edge.start(), jwks: key.jwks, keepAlive: true });
  const ready = await edge.waitFor("ready");
  project.provide("sharedNode", {
    port: ready.body.port,
    sessionId: node.sessionId,
    projectId: node.projectId,
    privateJwk: (await exportJWK(key.privateKey)) as Record<string, unknown>,
    publicJwk: key.publicJwk as Record<string, unknown>,
  });
  return async () => {
    node.child.kill("SIGTERM");
    await node.exited;
    await edge.stop();
  };
}
