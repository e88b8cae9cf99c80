/**
 * Styles a shadow root with a constructed stylesheet, which a page's Content-Security-Policy
 * without `style-src 'unsafe-inline'` still allows (a `<style>` element would be blocked); a
 * `<style>` element only where constructed sheets do not exist.
 */
const sheets = new Map<string, CSSStyleSheet>();

export function adoptStyle(root: ShadowRoot, css: string): void {
  if ("adoptedStyleSheets" in root && typeof CSSStyleSheet !== "undefined" && "replaceSync" in CSSStyleSheet.prototype) {
    let sheet = sheets.get(css);
    if (!sheet) {
      sheet = new CSSStyleSheet();
      sheet.replaceSync(css);
      sheets.set(css, sheet);
    }
    root.adoptedStyleSheets = [sheet];
    return;
  }
  const style = document.createElement("style");
  style.textContent = css;
  root.prepend(style);
}
