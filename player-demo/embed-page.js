// The iframe embed page (/embed.html?asset=…&token=…): copies its query into the element.
// A file of its own, not an inline script: every page runs under a CSP without 'unsafe-inline'.
const q = new URLSearchParams(location.search);
const el = document.getElementById("player");
for (const name of ["token", "password", "package", "start-rendition"]) {
  if (q.get(name)) el.setAttribute(name, q.get(name));
}
// `autoplay=1` starts muted playback (browsers allow muted autoplay).
if (q.get("autoplay") === "1") { el.setAttribute("muted", ""); el.setAttribute("autoplay", ""); }
if (q.get("asset")) el.setAttribute("asset", q.get("asset"));
