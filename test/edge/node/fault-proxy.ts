/**
 * A pass-through in front of the ECS stand-in that can misbehave on cue, the way AWS sometimes
 * does: throttle a call (400 ThrottlingException), lose an answer after the call took effect (the
 * stand-in ran it; the edge sees a 500), or answer RunTask 200 with `failures`. Bytes and the
 * Host header pass unchanged, so the stand-in still verifies the edge's SigV4 signature.
 * Faults are queued for a session's RunTask (`startedBy` wc-, never a pool's refill) by the edge URL
 * its member boots with, which a test makes its own (EDGE_PUBLIC_URL): `POST /_faults {edgeUrl, faults: [...]}`.
 */
import { createServer, request } from "node:http";

type Fault = "throttle" | "lost" | "capacity";

export async function startFaultProxy(target: string): Promise<{ url: string; close(): Promise<void> }> {
  const queued = new Map<string, Fault[]>();
  const upstream = new URL(target);
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    if (req.url === "/_faults" && req.method === "POST") {
      const { edgeUrl, faults } = JSON.parse(body.toString());
      queued.set(edgeUrl, [...faults]);
      return res.writeHead(204).end();
    }
    const isRunTask = String(req.headers["x-amz-target"] ?? "").endsWith(".RunTask");
    const text = body.toString();
    const edgeUrl = isRunTask && text.includes('"startedBy":"wc-') ? /"name":"WC_EDGE_URL","value":"([^"]+)"/.exec(text)?.[1] : undefined;
    const fault = edgeUrl ? queued.get(edgeUrl)?.shift() : undefined;
    const json = (status: number, payload: unknown) =>
      res.writeHead(status, { "content-type": "application/x-amz-json-1.1" }).end(JSON.stringify(payload));
    if (fault === "throttle") return json(400, { __type: "ThrottlingException", message: "Rate exceeded" });
    if (fault === "capacity") return json(200, { tasks: [], failures: [{ arn: "arn:aws:ecs:capacity", reason: "RESOURCE:MEMORY", detail: "not enough capacity" }] });
    const forwarded = request(
      { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers },
      (answer) => {
        const parts: Buffer[] = [];
        answer.on("data", (c: Buffer) => parts.push(c));
        answer.on("end", () => {
          if (fault === "lost") return json(500, { __type: "ServerException", message: "The answer was lost" });
          res.writeHead(answer.statusCode ?? 502, answer.headers).end(Buffer.concat(parts));
        });
      },
    );
    forwarded.on("error", () => json(502, { __type: "ServerException", message: "stand-in unreachable" }));
    forwarded.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  return { url: `http://127.0.0.1:${port}`, close: () => new Promise((resolve) => server.close(() => resolve())) };
}
