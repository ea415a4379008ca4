/** What node/global-setup.ts provides to the tests (read with `inject`). */
declare module "vitest" {
  export interface ProvidedContext {
    /** The Worker's secrets for this run (SIGNING_KEY, ADMIN_TOKEN, ...), generated at start. */
    secrets: Record<string, string>;
    /** The local ECS stand-in (record runner): ECS_ENDPOINT and EC2_ENDPOINT of the Worker. */
    standInUrl: string;
    /** What the stand-in recorded (node/stand-in-record.ts), node tokens included: only with `secret`. */
    standInRecord: { url: string; secret: string };
    /** The stand-in behind the fault proxy: the Worker's ECS_ENDPOINT. */
    ecsUrl: string;
    moto: {
      url: string;
      region: string;
      subnet: string;
      securityGroup: string;
      allowed: { accessKeyId: string; secretAccessKey: string };
      denied: { accessKeyId: string; secretAccessKey: string };
    };
    /** A real Chromium's debugging port, behind the fake node (fake-node.ts). */
    chromiumPort: number;
  }
}
export {};
