/** The Worker: the edge's HTTP app and its two Durable Object classes. */
import { createApp } from "./app.ts";

export { SessionObject } from "./durable/session-object.ts";
export { ProjectObject } from "./durable/project-object.ts";

export default createApp();
