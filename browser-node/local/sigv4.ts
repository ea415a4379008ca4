/**
 * Verifies AWS Signature Version 4 on requests to the local ECS stand-in, the way AWS would:
 * the signature is recomputed independently (with @smithy/signature-v4, not the edge's aws4fetch)
 * over exactly the headers the client says it signed, and compared in constant time.
 */
import { timingSafeEqual } from "node:crypto";
import { Hash } from "@smithy/hash-node";
import { SignatureV4 } from "@smithy/signature-v4";

export interface Credentials {
  accessKeyId: string;
  secretAccessKey: string;
}

export interface SignedRequest {
  method: string;
  host: string;
  path: string; // without the query
  query: Record<string, string>;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** An AWS-shaped authentication failure: `code` is what AWS names it, `status` what it answers. */
export class SignatureError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 403,
  ) {
    super(message);
  }
}

const AUTH_PATTERN =
  /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, ?SignedHeaders=([a-z0-9;-]+), ?Signature=([0-9a-f]{64})$/;
const MAX_SKEW_MS = 5 * 60 * 1000;

/** Throws SignatureError unless `req` is signed by `credentials` for `service` in `region`. Returns the access key id. */
export async function verifySigV4(
  req: SignedRequest,
  expected: { credentials: Credentials; region: string; service: string },
): Promise<string> {
  const authorization = header(req.headers, "authorization");
  if (!authorization) throw new SignatureError("MissingAuthenticationTokenException", "Missing Authentication Token", 400);
  const match = AUTH_PATTERN.exec(authorization);
  if (!match) throw new SignatureError("IncompleteSignatureException", "Authorization header is not a SigV4 signature", 400);
  const [, accessKeyId, scopeDate, region, service, signedHeaderList, signature] = match;
  if (accessKeyId !== expected.credentials.accessKeyId)
    throw new SignatureError("UnrecognizedClientException", "The security token included in the request is invalid.");
  if (region !== expected.region || service !== expected.service)
    throw new SignatureError("InvalidSignatureException", `Credential should be scoped to a valid region and service (${expected.region}/${expected.service}).`);

  const amzDate = header(req.headers, "x-amz-date");
  const signingDate = amzDate ? parseAmzDate(amzDate) : undefined;
  if (!signingDate || amzDate!.slice(0, 8) !== scopeDate)
    throw new SignatureError("IncompleteSignatureException", "x-amz-date is missing or does not match the credential scope", 400);
  if (Math.abs(Date.now() - signingDate.getTime()) > MAX_SKEW_MS)
    throw new SignatureError("InvalidSignatureException", "Signature expired: the request time is too far from the server time.");

  const signedHeaders = signedHeaderList.split(";");
  if (!signedHeaders.includes("host")) throw new SignatureError("InvalidSignatureException", "host must be a signed header");
  const headers: Record<string, string> = {};
  for (const name of signedHeaders) {
    const value = name === "host" ? req.host : header(req.headers, name);
    if (value === undefined) throw new SignatureError("InvalidSignatureException", `Signed header ${name} is missing`);
    headers[name] = value;
  }

  const signer = new SignatureV4({
    credentials: expected.credentials,
    region,
    service,
    sha256: Hash.bind(null, "sha256"),
    applyChecksum: false,
    uriEscapePath: true,
  });
  const resigned = await signer.sign(
    { method: req.method, protocol: "http:", hostname: req.host, path: req.path, query: req.query, headers, body: req.body },
    { signingDate },
  );
  const expectedSignature = /Signature=([0-9a-f]{64})/.exec(String(resigned.headers.authorization))?.[1] ?? "";
  const a = Buffer.from(signature);
  const b = Buffer.from(expectedSignature);
  if (a.length !== b.length || !timingSafeEqual(a, b))
    throw new SignatureError(
      "InvalidSignatureException",
      "The request signature we calculated does not match the signature you provided.",
    );
  return accessKeyId;
}

function header(headers: SignedRequest["headers"], name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value.join(",") : value;
}

function parseAmzDate(value: string): Date | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value);
  if (!m) return undefined;
  return new Date(Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]));
}
