import { type SpawnSyncReturns, spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { REPO } from "./fixtures.ts";

const CDK_OUT = path.join(REPO, "infra-cdk", "cdk.out");

/** Paths of every file below `dir`, relative to it. */
function filesBelow(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => path.relative(dir, path.join(entry.parentPath, entry.name)));
}

// The suite's one validating synth, and CI's: exactly what `npm run synth` does, through the
// CDK CLI, offline, with aws-cdk-lib's template validator on and cdk-nag failing on findings.
describe("npm run synth", () => {
  let run: SpawnSyncReturns<string>;
  beforeAll(() => {
    const env: NodeJS.ProcessEnv = { ...process.env };
    delete env.CDK_VALIDATION; // as in CI: the script itself must switch validation on
    run = spawnSync("npm", ["run", "--silent", "synth"], { cwd: REPO, env, encoding: "utf8", timeout: 180_000 });
  });

  it("succeeds from the repository root without network or AWS credentials", () => {
    expect(run.error).toBeUndefined();
    expect(run.status, run.stderr).toBe(0);
    const template = JSON.parse(readFileSync(path.join(CDK_OUT, "wallcrawler.template.json"), "utf8"));
    const types = Object.values(template.Resources as Record<string, { Type: string }>).map((r) => r.Type);
    expect(types).toEqual(expect.arrayContaining(["AWS::ECS::TaskDefinition", "AWS::EC2::FlowLog", "AWS::Events::Rule"]));
    const report = JSON.parse(readFileSync(path.join(CDK_OUT, "validation-report.json"), "utf8"));
    expect(report.pluginReports).toEqual([]);
  });

  it("stages the image context from the repo root without node_modules, .git, synth output or local secrets", () => {
    const assets = JSON.parse(readFileSync(path.join(CDK_OUT, "wallcrawler.assets.json"), "utf8"));
    const images = Object.values(assets.dockerImages) as Array<{ source: { directory: string; dockerFile: string } }>;
    expect(images).toHaveLength(1);
    const { directory, dockerFile } = images[0]!.source;
    expect(dockerFile).toBe("browser-node/Dockerfile");
    const staged = filesBelow(path.join(CDK_OUT, directory));
    expect(staged).toContain("browser-node/Dockerfile");
    for (const file of staged) {
      expect(file.split(path.sep)).not.toEqual(expect.arrayContaining([expect.stringMatching(/^(node_modules|\.git|cdk\.out|\.wrangler|\.wallcrawler)$/)]));
      expect(path.basename(file)).not.toMatch(/^\.dev\.vars|^\.env/);
    }
    // The bundle the Dockerfile copies travels with it whenever it has been built.
    if (existsSync(path.join(REPO, "dist", "browser-node"))) {
      expect(staged.some((file) => file.startsWith(`dist${path.sep}browser-node${path.sep}`))).toBe(true);
    }
  });
});
