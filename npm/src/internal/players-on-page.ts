/**
 * How many players the page has, for its uploads: while it has any, uploads leave them two of
 * the browser's six connections to the store (the core's `puts_at_once` decides how many), so a
 * segment never queues behind parts. The page's players count themselves here; so do those of
 * the site's other tabs on this origin, which share the browser's connections and are heard of
 * through a `BroadcastChannel`; the page's upload worker is told the page's count
 * (upload-worker-pool.ts); and each thread's wasm hears its count once instantiated (wasm.ts).
 *
 * A tab is known to the others only by a random name made when this module loads, kept in
 * memory and never sent anywhere else.
 */

/** Players made on this thread and not yet let go. */
let own = 0;
/** The page's players, as the page told this worker (0 on the page itself). */
let told = 0;
/** Players of this origin's other tabs, by the tab's random name. */
const others = new Map<string, number>();
const followers = new Set<(players: number) => void>();

/** What tabs say to each other: how many players one has, or a question for that of each. */
type TabMessage = { from: string; players: number } | { from: string; ask: true };

/** This tab's name on the channel, and the channel (opened on first use, in a page only). */
let tab: { name: string; channel: BroadcastChannel } | undefined;

function joinTabs(): void {
  if (tab || typeof window === "undefined" || typeof BroadcastChannel === "undefined") return;
  let channel: BroadcastChannel;
  try {
    channel = new BroadcastChannel("cinelock-players");
  } catch {
    return; // an opaque origin (a sandboxed frame) may have none: this tab then counts alone
  }
  // Only to tell tabs apart (`crypto.randomUUID` exists only in secure contexts).
  tab = { name: Math.random().toString(36).slice(2), channel };
  channel.onmessage = (m: MessageEvent<TabMessage>) => {
    const msg = m.data;
    if ("ask" in msg) {
      if (own > 0) say();
      return;
    }
    if (msg.players > 0) others.set(msg.from, msg.players);
    else others.delete(msg.from);
    changed();
  };
  // A tab that goes away (or into the back-forward cache) says so; one that comes back says
  // what it has again.
  addEventListener("pagehide", () => channel.postMessage({ from: tab!.name, players: 0 } satisfies TabMessage));
  addEventListener("pageshow", (e) => { if (e.persisted && own > 0) say(); });
  channel.postMessage({ from: tab.name, ask: true } satisfies TabMessage);
}

function say(): void {
  tab?.channel.postMessage({ from: tab.name, players: own } satisfies TabMessage);
}

/** The players the page has, with those of the site's other tabs, as this thread knows them. */
export function playersOnPage(): number {
  let n = own + told;
  for (const players of others.values()) n += players;
  return n;
}

function changed(): void {
  const n = playersOnPage();
  for (const f of followers) f(n);
}

/** Counts a player of this page until the function returned is called (once; later calls do nothing). */
export function countPlayer(): () => void {
  joinTabs();
  own++;
  say();
  changed();
  let counted = true;
  return () => {
    if (!counted) return;
    counted = false;
    own--;
    say();
    changed();
  };
}

/** In the upload worker: the page's count, as the page told it. */
export function tellPlayers(players: number): void {
  if (players === told) return;
  told = players;
  changed();
}

/** Calls `f` with the count now and after each change, until the function returned is called. */
export function followPlayers(f: (players: number) => void): () => void {
  joinTabs();
  followers.add(f);
  f(playersOnPage());
  return () => {
    followers.delete(f);
  };
}
