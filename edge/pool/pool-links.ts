/**
 * The pool links a PoolObject holds: one hibernatable WebSocket per member (tagged with its id; a
 * newer one replaces the older with 4009), JSON text frames both ways. Which link is a member's
 * current one survives hibernation: its id is in the member's record and in the socket's attachment.
 */
import { PoolLinkClose, type PoolToNode } from "../node-protocol.ts";
import { closeQuietly, sendJson } from "../durable/node-link.ts";

export interface LinkAttachment {
  memberId: string;
  linkId: string;
}

export class PoolLinks {
  constructor(private readonly ctx: DurableObjectState) {}

  /** Takes `ws` (the server end of the member's upgrade) as its pool link; answers the link's id. */
  open(memberId: string, ws: WebSocket): string {
    for (const older of this.ctx.getWebSockets(memberId)) closeQuietly(older, PoolLinkClose.replaced.code, PoolLinkClose.replaced.reason);
    const linkId = crypto.randomUUID();
    this.ctx.acceptWebSocket(ws, [memberId]);
    ws.serializeAttachment({ memberId, linkId } satisfies LinkAttachment);
    return linkId;
  }

  attachment(ws: WebSocket): LinkAttachment | undefined {
    const a = ws.deserializeAttachment() as Partial<LinkAttachment> | null;
    return a?.memberId && a.linkId ? { memberId: a.memberId, linkId: a.linkId } : undefined;
  }

  /** The member's link `linkId` while it is open. */
  socket(memberId: string, linkId: string | undefined): WebSocket | undefined {
    if (!linkId) return undefined;
    return this.ctx.getWebSockets(memberId).find((ws) => ws.readyState === WebSocket.OPEN && this.attachment(ws)?.linkId === linkId);
  }

  send(memberId: string, linkId: string | undefined, message: PoolToNode): boolean {
    return sendJson(this.socket(memberId, linkId), message);
  }

  /** Closes every link of the member (e.g. with PoolLinkClose.retired). */
  close(memberId: string, close: { code: number; reason: string }): void {
    for (const ws of this.ctx.getWebSockets(memberId)) closeQuietly(ws, close.code, close.reason);
  }
}
