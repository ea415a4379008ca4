/**
 * The edge's artifact calls on the node's proxy port, against a real node: `PUT /uploads/<name>`
 * and `POST /downloads/flush` take the session's CDP token like every proxy endpoint, names are
 * plain file names, the size bound holds while the body streams, and a refused or cut-off upload
 * leaves nothing in the session's uploads folder.
 */
import { readdirSync, readFileSync } from "node:fs";
import { request } from "node:http";
import { dirname } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ArtifactLimits, NODE_DOWNLOADS_FLUSH_PATH, nodeUploadPath } from "../../edge/node-protocol.ts";
import { signCdpToken } from "./support/keys.ts";
import { startReadyNode, type ReadyNode } from "./support/ready-node.ts";

let ready: ReadyNode;
beforeAll(async () => {
  ready = await startReadyNode({ keepAlive: true });
});
afterAll(() => ready.stop());

/** Sends `chunks` (chunked unless a content-length is given) and resolves with the answer. */
function send(
  method: string,
  path: string,
  options: {
    token?: string;
    chunks?: Buffer[];
    headers?: Record<string, string | number>;
    /** Cut the body off 200 ms after the chunks (no answer is expected). */
    cutAfterChunks?: boolean;
    /** Leave the body unfinished and take the answer (the node answers before reading it all). */
    leaveOpen?: boolean;
  } = {},
): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: "127.0.0.1", port: ready.port, method, path, headers: { ...(options.token ? { authorization: `Bearer ${options.token}` } : {}), ...options.headers } },
      (res) => {
        let text = "";
        res.on("data", (c) => (text += c));
        res.on("end", () => {
          let body: any = text;
          try {
            body = text ? JSON.parse(text) : undefined;
          } catch {
            // a plain-text answer (the proxy's 404)
          }
          resolve({ status: res.statusCode ?? 0, body });
          if (options.leaveOpen) req.destroy();
        });
      },
    );
    req.on("error", (err) => (options.cutAfterChunks ? resolve({ status: 0, body: String(err) }) : reject(err)));
    for (const chunk of options.chunks ?? []) req.write(chunk);
    if (options.cutAfterChunks) setTimeout(() => req.destroy(), 200);
    else if (!options.leaveOpen) req.end();
  });
}

let uploadsDir: string;

describe("PUT /uploads/<name>", () => {
  it("needs this session's token", async () => {
    expect((await send("PUT", nodeUploadPath("a.txt"), { chunks: [Buffer.from("x")] })).status).toBe(401);
    const otherSession = await signCdpToken(ready.key, { sub: crypto.randomUUID(), pid: ready.node.projectId });
    expect((await send("PUT", nodeUploadPath("a.txt"), { token: otherSession, chunks: [Buffer.from("x")] })).status).toBe(401);
  });

  it("streams the file into the session's uploads folder and answers its absolute path", async () => {
    const name = "résumé final.pdf";
    const answer = await send("PUT", nodeUploadPath(name), { token: ready.token, chunks: [Buffer.from("part one, "), Buffer.from("part two")] });
    expect(answer.status).toBe(201);
    expect(answer.body.path).toMatch(new RegExp(`^/tmp/wc-session-[^/]+/uploads/${name}$`));
    expect(readFileSync(answer.body.path, "utf8")).toBe("part one, part two");
    uploadsDir = dirname(answer.body.path);
    // The same name again replaces the file.
    await send("PUT", nodeUploadPath(name), { token: ready.token, chunks: [Buffer.from("v2")] });
    expect(readFileSync(answer.body.path, "utf8")).toBe("v2");
  });

  it.each(["..", "../escape.txt", "/etc/passwd", "a/b.txt", "bad\u0001name", ""])("refuses the name %j (400)", async (name) => {
    const answer = await send("PUT", `/uploads/${encodeURIComponent(name)}`, { token: ready.token, chunks: [Buffer.from("x")] });
    expect([400, 404]).toContain(answer.status); // 404: the URL itself normalizes to another path
    expect(readdirSync(uploadsDir).sort()).toEqual(["résumé final.pdf"]);
  });

  it("refuses a declared length over the bound before reading the body (413)", async () => {
    const answer = await send("PUT", nodeUploadPath("big.bin"), {
      token: ready.token,
      headers: { "content-length": ArtifactLimits.uploadBytes + 1 },
      chunks: [Buffer.alloc(1024)],
      leaveOpen: true,
    });
    expect(answer.status).toBe(413);
  });

  it("stops a chunked body at the bound (413) and keeps nothing of it", async () => {
    const chunk = Buffer.alloc(1024 * 1024, 1);
    const chunks = Array.from({ length: ArtifactLimits.uploadBytes / chunk.length + 1 }, () => chunk);
    const answer = await send("PUT", nodeUploadPath("huge.bin"), { token: ready.token, chunks });
    expect(answer.status).toBe(413);
    expect(answer.body.message).toMatch(/larger than/);
    expect(readdirSync(uploadsDir).sort()).toEqual(["résumé final.pdf"]);
  });

  it("keeps nothing of a body cut off mid-way", async () => {
    await send("PUT", nodeUploadPath("cut.bin"), { token: ready.token, chunks: [Buffer.alloc(10_000)], cutAfterChunks: true });
    // The node notices the cut when the socket closes, on its own schedule: wait for the clean-up.
    await expect.poll(() => readdirSync(uploadsDir).sort(), { timeout: 10_000 }).toEqual(["résumé final.pdf"]);
  });
});

describe("POST /downloads/flush", () => {
  it("needs the token, and answers 204 at once when nothing was downloaded", async () => {
    expect((await send("POST", NODE_DOWNLOADS_FLUSH_PATH, { headers: { "content-length": 0 } })).status).toBe(401);
    expect((await send("POST", NODE_DOWNLOADS_FLUSH_PATH, { token: ready.token, headers: { "content-length": 0 } })).status).toBe(204);
  });
});
