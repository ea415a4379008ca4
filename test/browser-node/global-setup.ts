/**
 * Builds the bundle (the image's program, also used by the Dockerfile and SIGTERM tests) and
 * starts one browser node in direct mode that the proxy's client and token-attack tests share.
 */
import { execFileSync } from "node:child_process";
import { exportJWK } from "jose";
import type { TestProject } from "vitest/node";
import { ROOT } from "./support/node-process.ts";
import { startReadyNode } from "./support/ready-node.ts";

export interface SharedNode {
  port: number;
  /** Its Chromium's pid, so tests can read the command line the node launched it with. */
  chromiumPid: number;
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
  // Direct mode: these files test the node's own proxy (edge mode's channels have their own files).
  const shared = await startReadyNode({ keepAlive: true, connectMode: "direct" });
  project.provide("sharedNode", {
    port: shared.port,
    chromiumPid: shared.started.pid,
    sessionId: shared.node.sessionId,
    projectId: shared.node.projectId,
    privateJwk: (await exportJWK(shared.key.privateKey)) as Record<string, unknown>,
    publicJwk: shared.key.publicJwk as Record<string, unknown>,
  });
  return () => shared.stop();
}
