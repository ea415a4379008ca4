import { describe, expect, inject, it } from "vitest";
import { getFromNode } from "../../edge/sessions/node-http.ts";

const shapes = inject("httpShapes");
const get = (port: number, path: string) => getFromNode({ host: "127.0.0.1", port }, path, { tls: false, timeoutMs: 2_000 });

describe("GET to a node over a raw socket", () => {
  it.each([
    ["Content-Length", shapes.port, "/length"],
    ["chunked, cut inside a character", shapes.port, "/chunked"],
    ["no length: until EOF", shapes.rawPort, "/"],
  ])("reads an answer framed by %s", async (_name, port, path) => {
    const answer = await get(port, path);
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body)).toEqual([{ id: "A1", type: "page", url: "about:blank", title: shapes.title }]);
  });

  it("passes the status through and fails on a closed port", async () => {
    expect(await get(shapes.port, "/missing")).toEqual({ status: 404, body: "" });
    await expect(get(1, "/")).rejects.toThrow();
  });
});
