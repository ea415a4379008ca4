/**
 * `PUT /uploads/<encodeURIComponent(name)>` on the proxy port (the CDP token checked by the
 * caller): the edge streams a client's upload here (`POST /v1/sessions/{id}/uploads`). The file
 * is written under a temporary name and renamed only once its body arrived whole, so a cut-off
 * upload leaves nothing; a later upload of the same name replaces it. Answers 201 `{path}`: the
 * absolute path a page's file input takes (CDP `DOM.setFileInputFiles`, Playwright
 * `setInputFiles(path)` on an element handle's CDP session, Puppeteer `uploadFile`).
 */
import { randomBytes } from "node:crypto";
import { createWriteStream } from "node:fs";
import { rename, rm } from "node:fs/promises";
import type { IncomingMessage, ServerResponse } from "node:http";
import { join } from "node:path";
import { ArtifactLimits, type NodeUploadReply } from "../../edge/node-protocol.ts";
import { log } from "../log.ts";
import { plainFileName } from "./file-names.ts";

/** How long a refused body may keep coming before the socket is closed. */
const DRAIN_MS = 10_000;

function answer(res: ServerResponse, status: number, body: object, close = false) {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(text),
    ...(close ? { connection: "close" } : {}),
  });
  res.end(text);
}

/** Answers a refusal before the body is read, then lets the rest drain (or closes) so the sender reads it. */
function refuse(req: IncomingMessage, res: ServerResponse, status: number, message: string) {
  answer(res, status, { message }, true);
  req.resume();
  setTimeout(() => req.socket.destroy(), DRAIN_MS).unref();
}

export async function receiveUpload(req: IncomingMessage, res: ServerResponse, uploadsDir: string, encodedName: string): Promise<void> {
  let decoded: string;
  try {
    decoded = decodeURIComponent(encodedName);
  } catch {
    return refuse(req, res, 400, "the file name is not valid percent-encoding");
  }
  const name = plainFileName(decoded);
  if (!name || name !== decoded) return refuse(req, res, 400, `not a plain file name: ${JSON.stringify(decoded.slice(0, 100))}`);
  const declared = Number(req.headers["content-length"] ?? NaN);
  if (declared > ArtifactLimits.uploadBytes) return refuse(req, res, 413, `file: larger than ${ArtifactLimits.uploadBytes} bytes`);

  const partial = join(uploadsDir, `.partial-${randomBytes(8).toString("hex")}`);
  const file = createWriteStream(partial, { flags: "wx" });
  let bytes = 0;
  // Read by hand rather than piped: a pipeline would destroy the request, and with it the socket
  // the 413 must go back on.
  let settled = false;
  const outcome = await new Promise<"whole" | "over" | "cut" | "failed">((settle) => {
    const resolve = (how: "whole" | "over" | "cut" | "failed") => {
      if (!settled) settle(how);
      settled = true;
    };
    req.on("data", (chunk: Buffer) => {
      if (settled) return; // refused or failed: the rest only drains
      bytes += chunk.length;
      if (bytes > ArtifactLimits.uploadBytes) return resolve("over");
      if (!file.write(chunk)) {
        req.pause();
        file.once("drain", () => req.resume());
      }
    });
    req.once("end", () => resolve("whole"));
    req.once("close", () => resolve(req.complete ? "whole" : "cut"));
    file.once("error", () => resolve("failed"));
  });
  if (outcome === "whole") {
    const written = await new Promise<boolean>((resolve) => {
      file.once("error", () => resolve(false));
      file.end(() => resolve(true));
    });
    if (written) {
      const path = join(uploadsDir, name);
      await rename(partial, path);
      log("upload-received", { name, bytes });
      return answer(res, 201, { path } satisfies NodeUploadReply);
    }
  }
  file.destroy();
  await rm(partial, { force: true });
  if (outcome === "over") return refuse(req, res, 413, `file: larger than ${ArtifactLimits.uploadBytes} bytes`);
  if (outcome === "cut") return log("upload-cut", { name, received: bytes }, "warn"); // the sender went away mid-body
  answer(res, 500, { message: "the node could not write the file" });
}
