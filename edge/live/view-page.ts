/**
 * The live view's page (docs/live-view.md): a canvas showing the watched page's screencast, a tab
 * bar and a URL bar, and the viewer's mouse, wheel and keys sent back as input. Static: the only
 * thing the edge writes into it is its socket's address (without the token, which the script reads
 * from the page's own URL). The script is served apart (`/live/view.js`) so the page's CSP allows
 * scripts from the edge itself only, never inline ones.
 *
 * URL parameters: `token` (required), `navbar=false` (no tab and URL bar), `readOnly=true` (no
 * input; the node drops it too), `page=<target id>` (watch that page first), `resize=true` (the
 * remote window follows the viewer's size; by default the frame is scaled to fit).
 */

const escapeAttribute = (text: string) => text.replace(/&/g, "&amp;").replace(/"/g, "&quot;").replace(/</g, "&lt;");

export function liveViewHtml(socketUrl: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="wc-live-socket" content="${escapeAttribute(socketUrl)}">
<title>Live view</title>
<style>
  html, body { margin: 0; height: 100%; background: #1e1e1e; color: #ddd; font: 13px system-ui, sans-serif; overflow: hidden; }
  body { display: flex; flex-direction: column; }
  #bar { display: flex; flex-direction: column; gap: 4px; padding: 4px 6px; background: #2b2b2b; }
  #bar.hidden { display: none; }
  #tabs { display: flex; gap: 2px; overflow-x: auto; }
  #tabs button { max-width: 200px; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; background: #3a3a3a; color: #ccc; border: 0; border-radius: 4px 4px 0 0; padding: 4px 10px; cursor: pointer; }
  #tabs button.active { background: #555; color: #fff; }
  #nav { display: flex; gap: 4px; }
  #nav button { background: #3a3a3a; color: #ddd; border: 0; border-radius: 4px; width: 28px; cursor: pointer; }
  #url { flex: 1; background: #111; color: #eee; border: 1px solid #444; border-radius: 4px; padding: 4px 8px; font: inherit; }
  #stage { flex: 1; position: relative; display: flex; align-items: center; justify-content: center; min-height: 0; }
  #screen { display: block; outline: none; background: #fff; }
  #status { position: absolute; inset: 0; display: flex; align-items: center; justify-content: center; pointer-events: none; }
  #status:empty { display: none; }
</style>
</head>
<body>
<div id="bar">
  <div id="tabs" role="tablist"></div>
  <form id="nav"><button type="button" id="back" title="Back">&#8592;</button><button type="button" id="forward" title="Forward">&#8594;</button><input id="url" autocomplete="off" spellcheck="false" aria-label="URL"></form>
</div>
<div id="stage"><canvas id="screen" tabindex="0" width="1" height="1"></canvas><div id="status">Connecting…</div></div>
<script src="view.js"></script>
</body>
</html>
`;
}

/** The page's script. Plain ES2017 in a string: no template literals inside, so it is served byte for byte. */
export const LIVE_VIEW_SCRIPT = String.raw`(function () {
  "use strict";
  var params = new URLSearchParams(location.search);
  var readOnly = params.get("readOnly") === "true";
  var follow = params.get("resize") === "true";
  var $ = function (id) { return document.getElementById(id); };
  var canvas = $("screen"), context = canvas.getContext("2d"), stage = $("stage"), status = $("status"), urlBox = $("url");
  if (params.get("navbar") === "false") $("bar").classList.add("hidden");
  var url = new URL(document.querySelector('meta[name="wc-live-socket"]').content);
  url.searchParams.set("token", params.get("token") || "");
  if (readOnly) url.searchParams.set("readOnly", "true");
  if (params.get("page")) url.searchParams.set("page", params.get("page"));
  var ws = new WebSocket(url.href);
  // What the page measures in CSS pixels (the frame's metadata); the canvas holds the JPEG's pixels.
  var frame = { width: 1, height: 1 };
  var tabs = [], active = null, frames = 0;
  var send = function (message) { if (ws.readyState === 1) ws.send(JSON.stringify(message)); };

  function fit() {
    var scale = Math.min(stage.clientWidth / frame.width, stage.clientHeight / frame.height);
    if (!isFinite(scale) || scale <= 0) return;
    canvas.style.width = Math.floor(frame.width * scale) + "px";
    canvas.style.height = Math.floor(frame.height * scale) + "px";
  }

  function draw(message) {
    var bytes = Uint8Array.from(atob(message.data), function (c) { return c.charCodeAt(0); });
    return createImageBitmap(new Blob([bytes], { type: "image/jpeg" })).then(function (image) {
      if (canvas.width !== image.width || canvas.height !== image.height) { canvas.width = image.width; canvas.height = image.height; }
      context.drawImage(image, 0, 0);
      image.close();
      if (message.width && message.height && (message.width !== frame.width || message.height !== frame.height)) {
        frame = { width: message.width, height: message.height };
        fit();
      }
      status.textContent = "";
      document.body.dataset.frames = String(++frames);
    });
  }

  function showTabs() {
    var box = $("tabs");
    box.textContent = "";
    tabs.forEach(function (tab) {
      var b = document.createElement("button");
      b.type = "button";
      b.dataset.id = tab.id;
      b.textContent = tab.title || tab.url || "New tab";
      b.title = tab.url;
      if (tab.id === active) b.className = "active";
      b.onclick = function () { send({ t: "select", id: tab.id }); };
      box.appendChild(b);
    });
    var current = tabs.filter(function (t) { return t.id === active; })[0];
    if (current && document.activeElement !== urlBox) urlBox.value = current.url;
    document.body.dataset.tabs = String(tabs.length);
  }

  ws.onmessage = function (event) {
    var message = JSON.parse(event.data);
    if (message.t === "frame") {
      draw(message).catch(function () {}).then(function () { send({ t: "ack" }); });
    } else if (message.t === "tabs") {
      tabs = message.tabs; active = message.active; showTabs();
      if (active !== sized) followSize();
    } else if (message.t === "hello") {
      readOnly = readOnly || message.readOnly;
      urlBox.readOnly = readOnly;
      document.body.dataset.readOnly = String(readOnly);
    }
  };
  ws.onclose = function (event) { status.textContent = "Disconnected" + (event.reason ? ": " + event.reason : ""); };

  // ---- input: none at all when read-only (the node drops it anyway) ----
  function modifiers(e) { return (e.altKey ? 1 : 0) | (e.ctrlKey ? 2 : 0) | (e.metaKey ? 4 : 0) | (e.shiftKey ? 8 : 0); }
  function point(e) {
    var r = canvas.getBoundingClientRect();
    return { x: (e.clientX - r.left) / r.width * frame.width, y: (e.clientY - r.top) / r.height * frame.height };
  }
  var BUTTON = ["left", "middle", "right", "back", "forward"];
  function mouse(type) {
    return function (e) {
      if (readOnly) return;
      if (type === "mousePressed") canvas.focus();
      e.preventDefault();
      var p = point(e);
      send({ t: "mouse", type: type, x: p.x, y: p.y, button: type === "mouseMoved" ? "none" : BUTTON[e.button] || "none", buttons: e.buttons, clickCount: type === "mouseMoved" ? 0 : e.detail || 1, modifiers: modifiers(e) });
    };
  }
  canvas.addEventListener("mousedown", mouse("mousePressed"));
  canvas.addEventListener("mouseup", mouse("mouseReleased"));
  canvas.addEventListener("mousemove", function (e) { if (ws.bufferedAmount < 65536) mouse("mouseMoved")(e); });
  canvas.addEventListener("contextmenu", function (e) { e.preventDefault(); });
  canvas.addEventListener("wheel", function (e) {
    if (readOnly) return;
    e.preventDefault();
    var p = point(e);
    send({ t: "wheel", x: p.x, y: p.y, deltaX: e.deltaX, deltaY: e.deltaY, modifiers: modifiers(e) });
  }, { passive: false });
  function key(type) {
    return function (e) {
      if (readOnly) return;
      if ((e.ctrlKey || e.metaKey) && e.key === "v") return; // the browser's paste event brings the text
      e.preventDefault();
      var shortcut = e.ctrlKey || e.metaKey || e.altKey;
      var text = type === "keyUp" ? undefined : e.key.length === 1 && !shortcut ? e.key : e.key === "Enter" ? "\r" : undefined;
      send({ t: "key", type: type === "keyUp" ? "keyUp" : text ? "keyDown" : "rawKeyDown", key: e.key, code: e.code, text: text, keyCode: e.keyCode, modifiers: modifiers(e) });
    };
  }
  canvas.addEventListener("keydown", key("keyDown"));
  canvas.addEventListener("keyup", key("keyUp"));
  canvas.addEventListener("paste", function (e) {
    if (readOnly) return;
    e.preventDefault();
    send({ t: "text", text: e.clipboardData.getData("text") });
  });
  $("nav").addEventListener("submit", function (e) {
    e.preventDefault();
    if (!readOnly) send({ t: "navigate", url: urlBox.value });
    canvas.focus();
  });
  $("back").onclick = function () { if (!readOnly) send({ t: "history", delta: -1 }); };
  $("forward").onclick = function () { if (!readOnly) send({ t: "history", delta: 1 }); };
  // resize=true: the watched page takes the stage's size, once the node names it (a resize before
  // then has no page to go to) and again for each page watched and each resize of the viewer.
  var resizing, sized = null;
  function followSize() {
    if (!follow || readOnly || !active) return;
    sized = active;
    send({ t: "resize", width: stage.clientWidth, height: stage.clientHeight });
  }
  window.addEventListener("resize", function () {
    fit();
    clearTimeout(resizing);
    resizing = setTimeout(followSize, 200);
  });
})();
`;
