/**
 * No Docker engine runs here, so the image is checked against what the build produces: every
 * COPY source exists after `npm run build:node` and passes .dockerignore, the command runs the
 * file the bundle was copied to, and the image has tini, Chromium, a health check and no root.
 * (global-setup.ts has just run the build.)
 */
import { existsSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { ROOT } from "./support/node-process.ts";

const dockerfile = readFileSync(`${ROOT}browser-node/Dockerfile`, "utf8");
/** Instructions with their continuation lines joined, comments dropped. */
const instructions = dockerfile
  .replace(/\\\n/g, " ")
  .split("\n")
  .map((l) => l.trim())
  .filter((l) => l && !l.startsWith("#"));
const named = (name: string) => instructions.filter((l) => l.toUpperCase().startsWith(name + " "));
const jsonArgs = (line: string) => JSON.parse(line.slice(line.indexOf("[")));

/** Docker's .dockerignore rules, last match wins (enough of them for this file: *, !path). */
function dockerIgnores(path: string): boolean {
  let ignored = false;
  for (const raw of readFileSync(`${ROOT}.dockerignore`, "utf8").split("\n")) {
    const line = raw.trim();
    if (!line || line.startsWith("#")) continue;
    const negate = line.startsWith("!");
    const pattern = (negate ? line.slice(1) : line).replace(/\/$/, "");
    const regex = new RegExp("^" + pattern.split("*").map((p) => p.replace(/[.+?^${}()|[\]\\]/g, "\\$&")).join("[^/]*") + "(/.*)?$");
    if (regex.test(path)) ignored = !negate;
  }
  return ignored;
}

describe("browser-node/Dockerfile", () => {
  const copies = named("COPY").filter((l) => !/--from=/.test(l));
  const copyParts = copies.map((l) => l.split(/\s+/).slice(1).filter((p) => !p.startsWith("--")));

  it("copies only files the build produced and the build context lets in", () => {
    expect(copies.length).toBeGreaterThan(0);
    for (const parts of copyParts) {
      for (const source of parts.slice(0, -1)) {
        expect(existsSync(`${ROOT}${source}`), source).toBe(true);
        expect(dockerIgnores(source), `${source} is excluded by .dockerignore`).toBe(false);
      }
    }
    expect(dockerIgnores("node_modules/ws/index.js")).toBe(true); // the context stays small
  });

  it("runs the copied bundle under tini", () => {
    expect(jsonArgs(named("ENTRYPOINT")[0])).toEqual(["/usr/bin/tini", "--"]);
    const cmd = jsonArgs(named("CMD")[0]);
    expect(cmd[0]).toBe("node");
    const [bundleSource, destination] = [copyParts[0][0], copyParts[0].at(-1)!];
    expect(bundleSource).toBe("dist/browser-node/main.mjs");
    expect(cmd[1]).toBe(destination.endsWith("/") ? destination + "main.mjs" : destination);
  });

  it("is bookworm-slim with Chromium and tini from Debian, a health check (direct mode's proxy), port 9223 and no root", () => {
    expect(named("FROM")[0]).toMatch(/bookworm-slim/);
    const install = named("RUN").join(" ");
    expect(install).toMatch(/apt-get install[^&]*\bchromium\b/);
    expect(install).toMatch(/apt-get install[^&]*\btini\b/);
    expect(named("HEALTHCHECK")[0]).toMatch(/\/health/);
    expect(named("HEALTHCHECK")[0]).toMatch(/WC_CONNECT_MODE!=='direct'/); // edge mode has no port to ask
    expect(named("EXPOSE")[0]).toMatch(/9223/);
    expect(named("USER")[0]).not.toMatch(/root|\b0\b/);
    expect(named("ENV").join(" ")).toMatch(/WC_CHROMIUM_PATH=\/usr\/lib\/chromium\/chromium/);
  });
});
