/**
 * What a live viewer may say (docs/live-view.md, "The live socket") and the CDP input each message
 * becomes. Every field is checked and bounded here: the viewer is an untrusted page, and only
 * these few Input/Page/Browser commands are reachable through it, never arbitrary CDP.
 */

export interface LiveTab {
  id: string;
  url: string;
  title: string;
}

/** Viewer → node (JSON text). Coordinates are the page's CSS pixels: the viewer scales its canvas. */
export type ViewerMessage =
  | { t: "ack" }
  | { t: "select"; id: string }
  | { t: "mouse"; type: "mouseMoved" | "mousePressed" | "mouseReleased"; x: number; y: number; button?: string; buttons?: number; clickCount?: number; modifiers?: number }
  | { t: "wheel"; x: number; y: number; deltaX: number; deltaY: number; modifiers?: number }
  | { t: "key"; type: "keyDown" | "rawKeyDown" | "keyUp" | "char"; key?: string; code?: string; text?: string; keyCode?: number; modifiers?: number }
  | { t: "text"; text: string }
  | { t: "navigate"; url: string }
  | { t: "history"; delta: -1 | 1 }
  | { t: "resize"; width: number; height: number };

export type CdpCommand = [method: string, params: Record<string, unknown>];

const MOUSE_TYPES = new Set(["mouseMoved", "mousePressed", "mouseReleased"]);
const BUTTONS = new Set(["none", "left", "middle", "right", "back", "forward"]);
const KEY_TYPES = new Set(["keyDown", "rawKeyDown", "keyUp", "char"]);
const MAX_TEXT = 10_000;
const MAX_COORD = 100_000;

const num = (v: unknown, min: number, max: number, fallback?: number): number | undefined =>
  typeof v === "number" && Number.isFinite(v) ? Math.min(max, Math.max(min, v)) : fallback;
const str = (v: unknown, max: number): string | undefined => (typeof v === "string" && v.length <= max ? v : undefined);
const int = (v: unknown, min: number, max: number) => {
  const n = num(v, min, max);
  return n === undefined ? undefined : Math.round(n);
};

/** What the viewer's URL bar may open: web pages, and about:blank. Anything else (javascript:, file:, chrome:) is refused. */
export function navigableUrl(raw: unknown): string | undefined {
  const text = str(raw, 8192)?.trim();
  if (!text) return undefined;
  if (text === "about:blank") return text;
  const withScheme = /^[a-z][a-z0-9+.-]*:/i.test(text) ? text : `https://${text}`;
  if (!URL.canParse(withScheme)) return undefined;
  const url = new URL(withScheme);
  return url.protocol === "http:" || url.protocol === "https:" ? url.href : undefined;
}

/** The CDP commands for one input message on the page `targetId` (its CDP session), or undefined when it is not input. */
export function inputCommand(message: ViewerMessage, targetId: string): CdpCommand[] | undefined {
  const m = message as Record<string, unknown>;
  const modifiers = int(m.modifiers, 0, 15) ?? 0;
  switch (m.t) {
    case "mouse": {
      const x = num(m.x, 0, MAX_COORD);
      const y = num(m.y, 0, MAX_COORD);
      if (!MOUSE_TYPES.has(m.type as string) || x === undefined || y === undefined) return undefined;
      const button = BUTTONS.has(m.button as string) ? (m.button as string) : "none";
      return [["Input.dispatchMouseEvent", { type: m.type, x, y, button, buttons: int(m.buttons, 0, 31) ?? 0, clickCount: int(m.clickCount, 0, 3) ?? 0, modifiers }]];
    }
    case "wheel": {
      const x = num(m.x, 0, MAX_COORD);
      const y = num(m.y, 0, MAX_COORD);
      if (x === undefined || y === undefined) return undefined;
      const deltaX = num(m.deltaX, -MAX_COORD, MAX_COORD, 0);
      const deltaY = num(m.deltaY, -MAX_COORD, MAX_COORD, 0);
      return [["Input.dispatchMouseEvent", { type: "mouseWheel", x, y, deltaX, deltaY, modifiers }]];
    }
    case "key": {
      if (!KEY_TYPES.has(m.type as string)) return undefined;
      const keyCode = int(m.keyCode, 0, 255);
      const params: Record<string, unknown> = { type: m.type, modifiers };
      const key = str(m.key, 64);
      const code = str(m.code, 64);
      const text = str(m.text, 16);
      if (key !== undefined) params.key = key;
      if (code !== undefined) params.code = code;
      if (text !== undefined) params.text = params.unmodifiedText = text;
      // Chromium's editing keys (Enter, Backspace, arrows) act on the virtual key code.
      if (keyCode !== undefined) params.windowsVirtualKeyCode = params.nativeVirtualKeyCode = keyCode;
      return [["Input.dispatchKeyEvent", params]];
    }
    case "text": {
      const text = str(m.text, MAX_TEXT);
      return text ? [["Input.insertText", { text }]] : undefined;
    }
    case "navigate": {
      const url = navigableUrl(m.url);
      return url ? [["Page.navigate", { url }]] : undefined;
    }
    case "history": {
      // history.go in the page: the same as its back and forward buttons, no history listing needed.
      if (m.delta !== -1 && m.delta !== 1) return undefined;
      return [["Runtime.evaluate", { expression: `history.go(${m.delta})` }]];
    }
    case "resize": {
      const width = int(m.width, 200, 3840);
      const height = int(m.height, 200, 2160);
      if (width === undefined || height === undefined) return undefined;
      // The page's size: Browser.* commands go to the browser, not the page's session; the hub
      // finds the window and adds the browser's own bar to its height.
      return [["Browser.setWindowBoundsOfTarget", { targetId, bounds: { width, height, windowState: "normal" } }]];
    }
    default:
      return undefined;
  }
}
