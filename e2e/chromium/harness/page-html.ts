/**
 * The test page. Its CSP allows only scripts carrying a fresh nonce and no eval, as
 * Electron's security checklist asks of an app: the page's DataSocket (msgpackr
 * included) must work without eval, and the stand-in can run code in a realm only
 * the way the page itself could. The first script in <head> is the stand-in loader
 * (preload), with this document's settings in data-* attributes that the loader
 * removes before any page script runs; the second is the page's own first script,
 * which records what it sees (and that the CSP really forbids eval to page code:
 * DevTools-driven evaluation, which Playwright uses, is exempt, so the page must
 * check for itself).
 */
import { CONFIG_KEY } from '../stand-in/realm-types.js';

/** What page to serve. */
export interface PageRequest {
  /** The loader's script and this document's settings, or null for a page without a preload. */
  loader: { src: string; token: string; internals: boolean } | null;
  nonce: string;
  origin: string;
  platform: string;
}

/** The Content-Security-Policy header for a page served with `nonce`. */
export function pagePolicy(nonce: string, origin: string): string {
  const ws = origin.replace(/^http/, 'ws');
  return `default-src 'none'; script-src 'nonce-${nonce}'; connect-src ${ws}`;
}

/** The page's HTML. */
export function pageHtml(request: PageRequest): string {
  const attribute = (value: string): string => value.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');
  const { loader } = request;
  const loaderTag =
    loader === null
      ? ''
      : `<script nonce="${request.nonce}" src="${attribute(loader.src)}" data-port-url="${attribute(`${request.origin.replace(/^http/, 'ws')}/port`)}" data-token="${attribute(loader.token)}" data-platform="${attribute(request.platform)}" data-internals="${loader.internals ? '1' : '0'}"></script>`;
  return `<!doctype html>
<html>
<head>
<meta charset="utf-8">
<title>electron-datasocket e2e</title>
${loaderTag}
<script nonce="${request.nonce}">
document.documentElement.dataset.netAtFirstScript = typeof (window.Net && window.Net.DataSocket);
document.documentElement.dataset.settingsAtFirstScript =
  document.querySelector('[data-port-url], [data-token], [data-platform], [data-internals]') !== null || (window.frames[0] !== undefined && ${JSON.stringify(CONFIG_KEY)} in window.frames[0]) ? 'visible' : 'hidden';
document.documentElement.dataset.evalInPage = (() => { try { new Function(''); return 'allowed'; } catch { return 'blocked'; } })();
</script>
</head>
<body><p>electron-datasocket e2e page</p></body>
</html>
`;
}
