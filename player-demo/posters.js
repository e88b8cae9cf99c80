// The library's lazy work per row: a row's loader (its details, then its poster) runs only once
// the row scrolls near the view, and only a few at a time, since each poster is a playback
// session and a fetch from the bucket. Owns the posters' object URLs: revoked when a row goes.

/** Loaders running at once. */
const AT_ONCE = 3;

let running = 0;
const waiting = [];
/** Per row element: { loader, queued, url }. */
const rows = new Map();

const visibility = new IntersectionObserver((entries) => {
  for (const entry of entries) {
    if (!entry.isIntersecting) continue;
    visibility.unobserve(entry.target);
    enqueue(entry.target);
  }
}, { rootMargin: "200px" });

function enqueue(row) {
  const state = rows.get(row);
  if (!state || state.queued) return;
  state.queued = true;
  waiting.push(row);
  pump();
}

function pump() {
  while (running < AT_ONCE && waiting.length) {
    const row = waiting.shift();
    const state = rows.get(row);
    if (!state) continue; // released while it waited
    running++;
    Promise.resolve()
      .then(() => state.loader())
      .catch(() => undefined) // the loader shows its own errors in its row
      .finally(() => {
        state.queued = false;
        running--;
        pump();
      });
  }
}

/**
 * Runs `loader()` for `row` once the row is near the view. The loader may call `again(row)`
 * to run it once more later (an asset still processing), and `show(row, img, blob)` to put a
 * poster in.
 */
export function watch(row, loader) {
  rows.set(row, { loader, queued: false, url: null });
  visibility.observe(row);
}

/** Queues the row's loader again after `ms` (if the row is still there then). */
export function again(row, ms) {
  setTimeout(() => { if (rows.has(row)) enqueue(row); }, ms);
}

/** Shows `blob` in `img` as the row's poster, revoking the poster it had. */
export function show(row, img, blob) {
  const state = rows.get(row);
  if (!state) return; // the row went while its poster was being opened
  if (state.url) URL.revokeObjectURL(state.url);
  state.url = URL.createObjectURL(blob);
  img.src = state.url;
}

/** Forgets the row: stops watching it, drops its queued work, revokes its poster's URL. */
export function release(row) {
  const state = rows.get(row);
  if (!state) return;
  visibility.unobserve(row);
  if (state.url) URL.revokeObjectURL(state.url);
  rows.delete(row);
}

/** Object URLs held (for the tests: none may outlive their rows). */
export const heldUrls = () => [...rows.values()].filter((s) => s.url).length;
