/**
 * One signed call to an AWS API, with deliberate retries. aws4fetch signs; its own retry loop is
 * off because it retries only 5xx/429, while ECS reports throttling as HTTP 400
 * `ThrottlingException` and EC2 as `RequestLimitExceeded`. Retrying is safe only because every
 * call here is idempotent: RunTask always carries a clientToken (the same task comes back),
 * StopTask and the Describe calls change nothing twice.
 */
import { AwsClient } from "aws4fetch";
import { secret, type EdgeEnv } from "../env.ts";
import { mayPassLater, retrying } from "../retries.ts";

export class AwsError extends Error {
  constructor(
    readonly service: "ecs" | "ec2",
    readonly action: string,
    readonly code: string,
    message: string,
    /** Throttling, an answer that may pass later (408, 425, 429, a 5xx), or no answer at all: the call may succeed later. */
    readonly transient: boolean,
    readonly httpStatus?: number,
  ) {
    super(`${service.toUpperCase()} ${action} failed: ${code}: ${message}`);
  }
}

const THROTTLING = new Set([
  "ThrottlingException",
  "Throttling",
  "ThrottledException",
  "RequestLimitExceeded",
  "TooManyRequestsException",
  "RequestThrottled",
  "RequestThrottledException",
  "SlowDown",
]);

export interface RetryPolicy {
  /** Attempts in all, the first included. */
  attempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 4, baseDelayMs: 200, maxDelayMs: 2_000 };

export interface AwsRequest {
  service: "ecs" | "ec2";
  action: string;
  url: string;
  headers: Record<string, string>;
  body: string;
}

export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

export function awsCredentials(env: EdgeEnv): AwsCredentials | undefined {
  const accessKeyId = secret(env, "AWS_ACCESS_KEY_ID");
  const secretAccessKey = secret(env, "AWS_SECRET_ACCESS_KEY");
  if (!accessKeyId || !secretAccessKey) return undefined;
  return { accessKeyId, secretAccessKey, sessionToken: secret(env, "AWS_SESSION_TOKEN") };
}

export class AwsCaller {
  private readonly clients: Record<"ecs" | "ec2", AwsClient>;
  constructor(
    credentials: AwsCredentials,
    region: string,
    private readonly retry: RetryPolicy = DEFAULT_RETRY,
  ) {
    // Service and region are given explicitly: a stand-in's URL names neither.
    const client = (service: string) => new AwsClient({ ...credentials, service, region, retries: 0 });
    this.clients = { ecs: client("ecs"), ec2: client("ec2") };
  }

  /** Sends `req`, retrying transient failures with capped exponential backoff and jitter. */
  call(req: AwsRequest): Promise<string> {
    const { attempts, baseDelayMs, maxDelayMs } = this.retry;
    return retrying(
      { attempts, firstDelayMs: baseDelayMs, maxDelayMs, jitter: true },
      () => this.once(req),
      (error) => error instanceof AwsError && error.transient,
    );
  }

  private async once(req: AwsRequest): Promise<string> {
    let res: Response;
    try {
      res = await this.clients[req.service].fetch(req.url, { method: "POST", headers: req.headers, body: req.body });
    } catch (error) {
      throw new AwsError(req.service, req.action, "NetworkError", error instanceof Error ? error.message : String(error), true);
    }
    // AWS's JSON and XML content types are not text/* to workerd: decode the bytes ourselves.
    const text = new TextDecoder().decode(await res.arrayBuffer());
    if (res.ok) return text;
    const { code, message } = req.service === "ecs" ? jsonError(res, text) : xmlError(text);
    const transient = mayPassLater(res.status) || THROTTLING.has(code);
    throw new AwsError(req.service, req.action, code, message, transient, res.status);
  }
}

/**
 * ECS (JSON 1.1): `{"__type": "...#Code", "message": "..."}`, the code also in `x-amzn-errortype`.
 * Authentication failures may come as the query API's XML instead (moto sends them so).
 */
function jsonError(res: Response, text: string) {
  let body: { __type?: string; message?: string; Message?: string } | undefined;
  try {
    body = JSON.parse(text);
  } catch {
    if (/<Code>/.test(text)) return xmlError(text);
  }
  const type = body?.__type ?? res.headers.get("x-amzn-errortype") ?? `HTTP${res.status}`;
  return { code: type.split("#").pop()!.split(":")[0], message: body?.message ?? body?.Message ?? text.slice(0, 200) };
}

/** EC2 (query API): `<Response><Errors><Error><Code>..</Code><Message>..</Message>`. */
function xmlError(text: string) {
  return { code: xmlText(text, "Code") ?? "UnknownError", message: xmlText(text, "Message") ?? text.slice(0, 200) };
}

/** The text of the first `<tag>` in `xml`, entities decoded; enough for AWS's flat answers. */
export function xmlText(xml: string, tag: string): string | undefined {
  const match = new RegExp(`<${tag}>([^<]*)</${tag}>`).exec(xml);
  return match ? decodeXml(match[1]) : undefined;
}

const decodeXml = (s: string) =>
  s.replace(/&(#x?[0-9a-f]+|lt|gt|amp|quot|apos);/gi, (_, e: string) => {
    const named: Record<string, string> = { lt: "<", gt: ">", amp: "&", quot: '"', apos: "'" };
    if (e[0] !== "#") return named[e.toLowerCase()];
    return String.fromCodePoint(e[1] === "x" || e[1] === "X" ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10));
  });
