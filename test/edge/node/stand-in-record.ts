/**
 * The stand-in's record, for the edge tests in workerd, which cannot hold the stand-in object:
 * `GET /calls` (every ECS and EC2 call as the edge sent it) and `GET /tasks` (as DescribeTasks
 * renders them). The tests play each task's node, so they need the node token the edge put in
 * RunTask, and a record that hands it out answers only this run's secret (`Authorization:
 * Bearer`): the stand-in itself serves no token at all.
 */
import { timingSafeEqual } from "node:crypto";
import { createServer, type ServerResponse } from "node:http";
import type { EcsStandIn } from "../../../browser-node/local/ecs-stand-in.ts";
import { describeTask } from "../../../browser-node/local/task-view.ts";

export async function startStandInRecord(standIn: EcsStandIn, secret: string): Promise<{ url: string; close(): Promise<void> }> {
  const expected = Buffer.from(`Bearer ${secret}`);
  const json = (res: ServerResponse, status: number, body: unknown) =>
    res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
  const server = createServer((req, res) => {
    const given = Buffer.from(req.headers.authorization ?? "");
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return json(res, 401, { message: "The stand-in's record needs this run's secret" });
    if (req.method === "GET" && req.url === "/calls") return json(res, 200, standIn.calls);
    if (req.method === "GET" && req.url === "/tasks") return json(res, 200, [...standIn.tasks.values()].map(describeTask));
    return json(res, 404, { message: `No ${req.method} ${req.url} here` });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  return { url: `http://127.0.0.1:${port}`, close: () => new Promise((resolve) => server.close(() => resolve())) };
}
