/**
 * The forward proxy Chromium sends every request to (`--proxy-server`): plain HTTP in absolute
 * form, and CONNECT for everything else (HTTPS, and WebSockets, which Chromium always tunnels).
 * Each request is decided by the session's policy, then dialled to a checked address directly or
 * through the session's upstream proxy. A refused or failed request reaches the page as a
 * network error: a CONNECT gets a 403/502 (ERR_TUNNEL_CONNECTION_FAILED), a plain request a
 * closed connection (ERR_EMPTY_RESPONSE); an answer would be shown as the page instead.
 */
import { Agent, createServer, request, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { Socket } from "node:net";
import type { Duplex } from "node:stream";
import { canonicalHost } from "../../edge/egress-rules.ts";
import { AddressGuard, EgressRefusal, UpstreamBytes, type Connector } from "./dial.ts";
import type { EgressPolicy, Upstream } from "./policy.ts";
import { tunnelThrough } from "./upstream-tunnel.ts";

/** Request headers for this hop only (RFC 9110 §7.6.1), and the browser's own to its proxy. */
const HOP_BY_HOP = new Set(["connection", "proxy-connection", "keep-alive", "proxy-authorization", "proxy-authenticate", "te", "trailer", "transfer-encoding", "upgrade"]);

function forwardable(raw: string[], extra: [string, string][] = []): string[] {
  const named = new Set<string>();
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i].toLowerCase() === "connection") for (const n of raw[i + 1].split(",")) named.add(n.trim().toLowerCase());
  }
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i].toLowerCase();
    if (!HOP_BY_HOP.has(name) && !named.has(name)) out.push(raw[i], raw[i + 1]);
  }
  for (const [k, v] of extra) out.push(k, v);
  return out;
}

export interface ProxyParts {
  /** Undefined until the session's settings are applied: then every request is refused. */
  policy: () => EgressPolicy | undefined;
  guard: AddressGuard;
  connector: Connector;
  upstreamBytes: UpstreamBytes;
  /** A refused or failed request, for the log (a host and a reason, never credentials). */
  refused: (what: { host: string; port: number; why: string }) => void;
}

/** `host:port` of a CONNECT, IPv6 in brackets. */
function splitAuthority(authority: string): { host: string; port: number } | undefined {
  const m = /^(\[[^\]]+\]|[^:]+):(\d{1,5})$/.exec(authority);
  const port = m ? Number(m[2]) : 0;
  return m && port > 0 && port < 65536 ? { host: canonicalHost(m[1]), port } : undefined;
}

export function createEgressServer(parts: ProxyParts): Server {
  const { guard, connector, upstreamBytes } = parts;
  // Pooled keep-alive connections to checked addresses: the pool is keyed by the address dialled.
  const pooled = (counted: boolean) => {
    // An idle pooled connection is let go after a minute (origins close theirs sooner anyway).
    const agent = new Agent({ keepAlive: true, scheduling: "lifo", timeout: 60_000 });
    agent.createConnection = ((options: { host: string; port: number }) => {
      const socket = connector(options.host, Number(options.port));
      return counted ? upstreamBytes.track(socket) : socket;
    }) as unknown as Agent["createConnection"];
    return agent;
  };
  const direct = pooled(false);
  const viaUpstream = pooled(true);

  /** The address to dial for `host` (or its upstream proxy), checked; throws EgressRefusal. */
  async function plan(host: string, port: number): Promise<{ upstream?: Upstream; address: string; port: number }> {
    const policy = parts.policy();
    if (!policy) throw new EgressRefusal("the session's settings are not applied yet");
    const decision = policy.decide(host);
    if ("refused" in decision) throw new EgressRefusal(decision.refused);
    const { upstream } = decision;
    if (upstream) return { upstream, address: await guard.pick(upstream.host).catch(upstreamRefused(upstream)), port: upstream.port };
    return { address: await guard.pick(host), port };
  }

  async function onRequest(req: IncomingMessage, res: ServerResponse) {
    let target: URL;
    try {
      target = new URL(req.url ?? "");
    } catch {
      res.writeHead(400, { connection: "close" }).end();
      return;
    }
    const host = canonicalHost(target.hostname);
    const port = Number(target.port || 80);
    if (target.protocol !== "http:") return drop(req.socket, host, port, `${target.protocol} is not proxied as a plain request`);
    let route: Awaited<ReturnType<typeof plan>>;
    try {
      route = await plan(host, port);
    } catch (error) {
      return drop(req.socket, host, port, reason(error));
    }
    const { upstream } = route;
    const outbound = request({
      agent: upstream ? viaUpstream : direct,
      host: route.address,
      port: route.port,
      method: req.method,
      // An upstream proxy takes the absolute form, an origin server the path.
      path: upstream ? target.href : `${target.pathname}${target.search}`,
      headers: forwardable(req.rawHeaders, upstream?.authorization ? [["Proxy-Authorization", upstream.authorization]] : []),
      setHost: false,
    });
    outbound.on("response", (answer) => {
      if (upstream && answer.statusCode === 407) {
        answer.resume();
        return drop(req.socket, host, port, `the upstream proxy ${describe(upstream)} refused its credentials (407)`);
      }
      res.writeHead(answer.statusCode ?? 502, answer.statusMessage, forwardable(answer.rawHeaders));
      answer.pipe(res);
      answer.on("error", () => res.destroy());
    });
    outbound.on("error", (error) => drop(req.socket, host, port, upstream ? `through ${describe(upstream)}: ${error.message}` : error.message));
    // The browser gave up on it (a navigation away, a closed tab): so does the proxy.
    res.on("close", () => {
      if (!res.writableFinished) outbound.destroy();
    });
    req.pipe(outbound);
  }

  function onConnect(req: IncomingMessage, client: Duplex, head: Buffer) {
    const authority = splitAuthority(req.url ?? "");
    client.on("error", () => {});
    if (!authority) return client.end("HTTP/1.1 400 Bad Request\r\n\r\n");
    const { host, port } = authority;
    void tunnel(client, head, host, port, `${req.url}`);
  }

  async function tunnel(client: Duplex, head: Buffer, host: string, port: number, authority: string) {
    let route: Awaited<ReturnType<typeof plan>>;
    try {
      route = await plan(host, port);
    } catch (error) {
      parts.refused({ host, port, why: reason(error) });
      return client.end("HTTP/1.1 403 Forbidden\r\n\r\n");
    }
    let server: Socket;
    try {
      server = route.upstream
        ? await tunnelThrough(upstreamBytes.track(connector(route.address, route.port)), route.upstream, authority)
        : await opened(connector(route.address, route.port));
    } catch (error) {
      parts.refused({ host, port, why: reason(error) });
      return client.end("HTTP/1.1 502 Bad Gateway\r\n\r\n");
    }
    if (client.destroyed) return server.destroy();
    client.write("HTTP/1.1 200 Connection Established\r\n\r\n");
    if (head.length) server.write(head);
    splice(client as Socket, server);
  }

  function drop(socket: Socket, host: string, port: number, why: string) {
    parts.refused({ host, port, why });
    socket.destroy();
  }

  const server = createServer({ requestTimeout: 0, keepAliveTimeout: 30_000 }, (req, res) => void onRequest(req, res));
  server.on("connect", onConnect);
  // Chromium tunnels WebSockets with CONNECT; an absolute-form upgrade comes from nothing it sends.
  server.on("upgrade", (_req: IncomingMessage, socket: Duplex) => socket.destroy());
  server.on("close", () => {
    direct.destroy();
    viaUpstream.destroy();
  });
  return server;
}

const reason = (error: unknown) => (error instanceof Error ? error.message : String(error));
const describe = (u: Upstream) => (u.managed ? "the managed proxy" : `${u.host}:${u.port}`);
const upstreamRefused = (u: Upstream) => (error: unknown) => {
  throw new EgressRefusal(`the upstream proxy ${describe(u)}: ${reason(error)}`);
};

/** Resolves with the socket once connected; rejects with its error. */
export function opened(socket: Socket): Promise<Socket> {
  return new Promise((resolve, reject) => {
    socket.once("connect", () => {
      socket.off("error", reject);
      resolve(socket);
    });
    socket.once("error", reject);
  });
}

/** Bytes both ways until either side ends; an error on one side closes the other. */
function splice(a: Socket, b: Socket) {
  a.setNoDelay?.(true);
  a.pipe(b).on("error", () => a.destroy());
  b.pipe(a).on("error", () => b.destroy());
  a.on("error", () => b.destroy());
  b.on("error", () => a.destroy());
  a.on("close", () => b.destroy());
  b.on("close", () => a.destroy());
}
