/**
 * What a page shows while it records, whether or not it wants to: a "● REC" badge with the
 * elapsed time in the browser's top layer (a manual popover, above anything the page's CSS can
 * stack), the same mark at the start of the document title, and a `beforeunload` warning.
 * The badge lives in a closed shadow root; if the page removes or hides it, or rewrites the
 * title, it comes back. It goes when the recording ends.
 */

import { adoptStyle } from "./style.js";

const MARK = "● REC";

// The host is the badge: as a popover it sits in the top layer, styled here over the
// browser's popover defaults.
const STYLE = `
:host { position: fixed; inset: 12px 12px auto auto; margin: 0; padding: 6px 12px; border: 0;
  border-radius: 999px; background: #c62828; color: #fff; font: 600 14px/1.2 system-ui, sans-serif;
  letter-spacing: 0.04em; box-shadow: 0 2px 8px #0006; pointer-events: none; width: auto; height: auto;
  overflow: visible; opacity: 1; visibility: visible; transform: none; }
:host([data-paused]) { background: #6d4c41; }
`;

export interface Indicator {
  /** Shows `text` after the mark (the elapsed time, "paused", the countdown). */
  update(text: string, paused?: boolean): void;
  /** Takes everything down. */
  remove(): void;
}

function format(ms: number): string {
  const s = Math.floor(ms / 1000);
  const mm = String(Math.floor(s / 60)).padStart(2, "0");
  const ss = String(s % 60).padStart(2, "0");
  return `${mm}:${ss}`;
}

/** "mm:ss" of recorded milliseconds. */
export const elapsed = format;

/** Puts the indicator up. */
export function showIndicator(): Indicator {
  const host = document.createElement("cinelock-rec-indicator");
  const root = host.attachShadow({ mode: "closed" });
  const badge = document.createElement("span");
  host.setAttribute("role", "status");
  host.setAttribute("aria-live", "polite");
  adoptStyle(root, STYLE);
  root.append(badge);
  // The top layer, where the page cannot cover it; a fixed badge where popovers do not exist.
  const popover = typeof host.showPopover === "function";
  if (popover) host.setAttribute("popover", "manual");
  let label = `${MARK}`;
  let removed = false;

  const attach = () => {
    if (removed) return;
    if (!host.isConnected) document.documentElement.append(host);
    for (const a of ["hidden", "style", "inert", "class"]) host.removeAttribute(a);
    if (popover && !host.matches(":popover-open")) {
      try { host.showPopover(); } catch { /* not connected yet */ }
    }
  };
  const originalTitle = document.title;
  const retitle = () => {
    if (removed) return;
    const bare = document.title.startsWith(MARK) ? document.title.slice(MARK.length).trimStart() : document.title;
    const wanted = `${MARK} ${bare}`;
    if (document.title !== wanted) document.title = wanted;
  };
  const guard = new MutationObserver(() => { attach(); retitle(); });
  guard.observe(document.documentElement, { childList: true, subtree: true, characterData: true, attributes: true, attributeFilter: ["hidden", "style", "inert", "popover"] });
  if (popover) host.addEventListener("toggle", () => attach());
  const beforeUnload = (e: BeforeUnloadEvent) => {
    e.preventDefault();
    e.returnValue = "";
  };
  window.addEventListener("beforeunload", beforeUnload);
  attach();
  retitle();
  badge.textContent = label;

  return {
    update(text: string, paused = false) {
      label = `${MARK} ${text}`;
      badge.textContent = label;
      host.toggleAttribute("data-paused", paused);
      attach();
    },
    remove() {
      if (removed) return;
      removed = true;
      guard.disconnect();
      window.removeEventListener("beforeunload", beforeUnload);
      host.remove();
      if (document.title.startsWith(MARK)) {
        const bare = document.title.slice(MARK.length).trimStart();
        document.title = bare || originalTitle;
      }
    },
  };
}
