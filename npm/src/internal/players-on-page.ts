/**
 * How many players the page has, for its uploads: while it has any, uploads leave them two of
 * the browser's six connections to the store (the core's `puts_at_once` decides how many), so a
 * segment never queues behind parts. The page's players count themselves here; the page's
 * upload worker is told the page's count (upload-worker-pool.ts); and each thread's wasm hears
 * its count once instantiated (wasm.ts).
 */

/** Players made on this thread and not yet let go. */
let own = 0;
/** The page's players, as the page told this worker (0 on the page itself). */
let told = 0;
const followers = new Set<(players: number) => void>();

/** The players the page has, as this thread knows them. */
export function playersOnPage(): number {
  return own + told;
}

function changed(): void {
  const n = playersOnPage();
  for (const f of followers) f(n);
}

/** Counts a player of this page until the function returned is called (once; later calls do nothing). */
export function countPlayer(): () => void {
  own++;
  changed();
  let counted = true;
  return () => {
    if (!counted) return;
    counted = false;
    own--;
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
  followers.add(f);
  f(playersOnPage());
  return () => {
    followers.delete(f);
  };
}
