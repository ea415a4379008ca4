/**
 * The local platform's secrets: an ES256 signing key, the admin token, the task-events secret and
 * the stand-in's AWS credentials. Generated at first start and kept in `.wallcrawler/dev-secrets.json`
 * (git-ignored, mode 0600) so a restarted `npm run dev` keeps its sessions' tokens valid; tests
 * pass `persist: false` and get fresh ones every run. Nothing here is ever printed.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { exportJWK, generateKeyPair } from "jose";
import { TOKEN_ALGORITHM } from "../../edge/node-protocol.ts";

export interface DevSecrets {
  SIGNING_KEY: string; // private JWK as JSON
  ADMIN_TOKEN: string;
  TASK_EVENTS_SECRET: string;
  AWS_ACCESS_KEY_ID: string;
  AWS_SECRET_ACCESS_KEY: string;
}

export async function generateSecrets(): Promise<DevSecrets> {
  const { privateKey } = await generateKeyPair(TOKEN_ALGORITHM, { extractable: true });
  const jwk = { ...(await exportJWK(privateKey)), kid: randomUUID(), alg: TOKEN_ALGORITHM, use: "sig" };
  return {
    SIGNING_KEY: JSON.stringify(jwk),
    ADMIN_TOKEN: randomBytes(32).toString("hex"),
    TASK_EVENTS_SECRET: randomBytes(32).toString("hex"),
    AWS_ACCESS_KEY_ID: `AKIALOCAL${randomBytes(6).toString("hex").toUpperCase()}`,
    AWS_SECRET_ACCESS_KEY: randomBytes(30).toString("base64url"),
  };
}

/** Loads the secrets kept at `file`, creating them on first use. */
export async function loadOrCreateSecrets(file: string): Promise<DevSecrets> {
  if (existsSync(file)) return JSON.parse(readFileSync(file, "utf8")) as DevSecrets;
  const secrets = await generateSecrets();
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify(secrets, null, 2), { mode: 0o600 });
  chmodSync(file, 0o600);
  return secrets;
}
