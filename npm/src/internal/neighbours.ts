/**
 * Who else uses the browser's connections to the store, for the uploads of this thread: the
 * players of the page and of the other tabs of its origin (whose segments would queue behind
 * parts), and the other threads that upload (the page's own and its upload worker, and other
 * tabs'), whose PUTs share the same six. The core decides what that leaves each thread's uploads
 * (`puts_at_once`); this module only keeps the counts:
 * - the page's players and uploads count themselves here (`countReader`, `countUploadUntil`),
 *   and so do its downloads, which read from the store as a player does and count as one;
 * - the upload worker's pool says when its worker has uploads (`setWorkerUploading`);
 * - tabs tell each other theirs through a `BroadcastChannel`, each under a random name made when
 *   the page loads, kept in memory and never sent anywhere else; a tab with uploads running asks
 *   the others every `ROLL_CALL_MS`, and lets go of those that do not answer (a tab that crashed
 *   or hangs, or that the browser froze in the background, says nothing as it goes);
 * - the page tells its upload worker what is beside it (upload-worker-pool.ts, `tellNeighbours`);
 * - each thread's wasm hears what is beside its uploads once instantiated (wasm.ts).
 */

/** Players (downloads counted as players), and threads with uploads running. */
export interface Neighbours {
  players: number;
  uploaders: number;
}

const NONE: Neighbours = { players: 0, uploaders: 0 };

/** Players made on this thread and not yet let go, and downloads running on it. */
let ownPlayers = 0;
/** Uploads (recordings included) running on this thread. */
let ownUploads = 0;
/** On the page: whether its upload worker has uploads running. */
let workerUploading = false;
/** In the upload worker: what the page told it is beside it. */
let told: Neighbours = NONE;
/** What the origin's other tabs have, by the tab's random name. */
const others = new Map<string, Neighbours>();
const followers = new Set<() => void>();

/** What tabs say to each other: what one has, or a question for what each has. */
type TabMessage = { from: string; has: Neighbours } | { from: string; ask: true };

/** This tab's name on the channel, and the channel (opened on first use, in a page only). */
let tab: { name: string; channel: BroadcastChannel } | undefined;

/** How often a tab with uploads running asks the others what they have. */
const ROLL_CALL_MS = 10_000;
/**
 * How long a tab has to answer before it is let go. One that answers later is counted again as
 * its answer comes: the price of a busy tab's late answer is a second of too many PUTs.
 */
const ANSWER_MS = 1_000;
/** The roll call's next step, while this tab has uploads running. */
let rollCall: ReturnType<typeof setTimeout> | undefined;
/** Tabs asked in the roll call under way that have not answered yet. */
let unanswered = new Set<string>();

/** Whether a tab has anything the others count (a tab with nothing is not listed). */
function hasAny(n: Neighbours): boolean {
  return n.players > 0 || n.uploaders > 0;
}

/** What this tab has, as the others count it. */
function ours(): Neighbours {
  return { players: ownPlayers, uploaders: (ownUploads > 0 ? 1 : 0) + (workerUploading ? 1 : 0) };
}

function say(has: Neighbours = ours()): void {
  tab?.channel.postMessage({ from: tab.name, has } satisfies TabMessage);
}

function ask(): void {
  tab?.channel.postMessage({ from: tab.name, ask: true } satisfies TabMessage);
}

/** Asks the tabs counted, and after `ANSWER_MS` lets go of those that did not answer. */
function callRoll(): void {
  unanswered = new Set(others.keys());
  if (unanswered.size > 0) ask();
  rollCall = setTimeout(() => {
    let gone = false;
    for (const name of unanswered) gone = others.delete(name) || gone;
    unanswered.clear();
    if (gone) changed();
    rollCall = setTimeout(callRoll, ROLL_CALL_MS - ANSWER_MS);
  }, ANSWER_MS);
}

/** Only a tab with uploads acts on what the others have, so only it calls the roll. */
function keepRollCall(): void {
  const uploading = ours().uploaders > 0;
  if (uploading && tab && rollCall === undefined) callRoll();
  else if (!uploading && rollCall !== undefined) {
    clearTimeout(rollCall);
    rollCall = undefined;
  }
}

/** This thread's own counts changed: the other tabs and this thread's followers hear it. */
function oursChanged(): void {
  say();
  keepRollCall();
  changed();
}

function joinTabs(): void {
  if (tab || typeof window === "undefined" || typeof BroadcastChannel === "undefined") return;
  let channel: BroadcastChannel;
  try {
    channel = new BroadcastChannel("cinelock-neighbours");
  } catch {
    return; // an opaque origin (a sandboxed frame) may have none: this tab then counts alone
  }
  // Only to tell tabs apart (`crypto.randomUUID` exists only in secure contexts).
  tab = { name: Math.random().toString(36).slice(2), channel };
  channel.onmessage = (m: MessageEvent<TabMessage>) => {
    const msg = m.data;
    unanswered.delete(msg.from);
    if ("ask" in msg) {
      const has = ours();
      if (hasAny(has)) say(has);
      return;
    }
    if (hasAny(msg.has)) others.set(msg.from, msg.has);
    else others.delete(msg.from);
    changed();
  };
  // A tab that goes away (or into the back-forward cache) says so; one that comes back, or that
  // the browser unfreezes (the others let it go while it could not answer), says what it has
  // again, and asks what the others have.
  addEventListener("pagehide", () => say(NONE));
  addEventListener("pageshow", (e) => {
    if (e.persisted) {
      say();
      ask();
    }
  });
  document.addEventListener("resume", () => {
    say();
    ask();
  });
  ask();
}

function inOtherTabs(): Neighbours {
  const sum = { players: 0, uploaders: 0 };
  for (const n of others.values()) {
    sum.players += n.players;
    sum.uploaders += n.uploaders;
  }
  return sum;
}

/** What this thread's uploads have beside them. */
export function neighbours(): Neighbours {
  const o = inOtherTabs();
  return { players: ownPlayers + told.players + o.players, uploaders: told.uploaders + o.uploaders + (workerUploading ? 1 : 0) };
}

/** On the page: what its upload worker's uploads have beside them (all but themselves). */
export function neighboursOfWorker(): Neighbours {
  const o = inOtherTabs();
  return { players: ownPlayers + o.players, uploaders: (ownUploads > 0 ? 1 : 0) + o.uploaders };
}

function changed(): void {
  for (const f of followers) f();
}

/** Counts once, until the function returned is called (once; later calls do nothing). */
function counter(add: (n: number) => void): () => void {
  joinTabs();
  add(1);
  oursChanged();
  let counted = true;
  return () => {
    if (!counted) return;
    counted = false;
    add(-1);
    oursChanged();
  };
}

/** Counts a player or a download of this page until the function returned is called. */
export function countReader(): () => void {
  return counter((n) => { ownPlayers += n; });
}

/** Counts an upload (or a recording) running on this thread until `done` settles. */
export function countUploadUntil(done: Promise<unknown>): void {
  const uncount = counter((n) => { ownUploads += n; });
  done.then(uncount, uncount);
}

/** On the page: whether its upload worker has uploads running (the pool knows). */
export function setWorkerUploading(uploading: boolean): void {
  if (uploading === workerUploading) return;
  workerUploading = uploading;
  oursChanged();
}

/** In the upload worker: what the page told it is beside it. */
export function tellNeighbours(n: Neighbours): void {
  if (n.players === told.players && n.uploaders === told.uploaders) return;
  told = n;
  changed();
}

/** Calls `f` now and after each change of any count, until the function returned is called. */
export function followNeighbours(f: () => void): () => void {
  joinTabs();
  followers.add(f);
  f();
  return () => {
    followers.delete(f);
  };
}
