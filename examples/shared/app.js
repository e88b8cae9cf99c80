/**
 * The example apps' one page script (the Vite app and the webpack app both bundle it): it uses
 * the `cinelock` package as an app would, and exposes `window.cinelockExample` so the browser
 * tests can drive it. Nothing in it is test-only API: prepare for uploads, upload a file, play
 * an asset, read `stats()`.
 */
import { play, prepareUploads, upload } from "cinelock";
import "cinelock/embed";

const api = {
  /** Uploads `bytes` as `name` with the create response; resolves when done. */
  async upload(created, endpoint, bytes, name) {
    // Where a real page calls it as the user is about to pick a file.
    const prepared = await prepareUploads();
    const handle = await upload(new File([bytes], name, { type: "video/mp4" }), { endpoint, upload: created });
    const progress = document.getElementById("progress");
    handle.addEventListener("progress", (e) => {
      progress.max = e.detail.totalBytes;
      progress.value = e.detail.sentBytes;
    });
    const { assetId } = await handle.done;
    return { assetId, stats: handle.stats(), prepared };
  },

  /** Plays the asset until `seconds` of it have played; resolves with the player's stats. */
  async play(endpoint, assetId, token, seconds) {
    const video = document.getElementById("video");
    video.muted = true;
    const player = play(video, { endpoint, assetId, token });
    player.addEventListener("error", (e) => console.error(e.detail.error.code, e.detail.error.reason));
    await player.ready;
    await video.play();
    await new Promise((resolve) => {
      const check = () => (video.currentTime >= seconds ? resolve() : setTimeout(check, 100));
      check();
    });
    const stats = player.stats();
    player.destroy();
    return stats;
  },
};

window.cinelockExample = api;
document.getElementById("status").textContent = "ready";
