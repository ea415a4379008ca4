/** What the proxy's handlers need from the rest of the node, as one small interface. */
import type { RelayTap } from "../artifacts/session-log.ts";
import type { TokenVerifier } from "../auth.ts";
import type { ScreencastHub } from "../live/screencast-hub.ts";
import type { ClientRegistry } from "./clients.ts";
import type { CloseReason } from "../../edge/node-protocol.ts";

export interface Upstream {
  debugPort: number;
  browserPath: string;
}

export interface ProxyContext {
  verifier: TokenVerifier;
  /** Random per process, never leaves it: lets the node's own readiness probe through from loopback. */
  readinessSecret: string;
  /** Chromium's endpoint, once it runs. */
  browser(): Upstream | undefined;
  /** False once the session is ending: new connections are refused. */
  accepting(): boolean;
  /** The close a client sees when Chromium's side of its socket drops without a close frame. */
  upstreamLost(): Promise<CloseReason>;
  clients: ClientRegistry;
  /** The live view's screencast hub (the `/live` socket); absent: `/live` is not found. */
  live?: ScreencastHub;
  /** host:port to put in rewritten URLs when the request's Host header is unusable. */
  fallbackHost(): string;
  /** The session's artifacts, as far as the proxy is concerned: the CDP log's taps. */
  artifacts: ProxyArtifacts;
}

export interface ProxyArtifacts {
  /** A logging tap for a new client socket, or undefined when the session is not logged. */
  tap(path: string): RelayTap | undefined;
}
