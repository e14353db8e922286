/**
 * The test page. Its CSP allows only scripts carrying a fresh nonce and no eval, as
 * Electron's security checklist asks of an app: the page's DataSocket (msgpackr
 * included) must work without eval, and the stand-in can run code in a realm only
 * the way the page itself could. The first script in <head> is the stand-in loader
 * (preload); the second records what the page's own first script sees (and that
 * the CSP really forbids eval to page code: DevTools-driven evaluation, which
 * Playwright uses, is exempt, so the page must check for itself).
 */
import type { PreloadKind } from './bundles.js';

/** What page to serve. */
export interface PageRequest {
  preload: PreloadKind | 'none';
  internals: boolean;
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
  const loader =
    request.preload === 'none'
      ? ''
      : `<script nonce="${request.nonce}" src="/stand-in/${request.preload}.js" data-port-url="${attribute(`${request.origin.replace(/^http/, 'ws')}/port`)}" data-platform="${attribute(request.platform)}" data-internals="${request.internals ? '1' : '0'}"></script>`;
  return `<!doctype html>
<html>
<head>
<meta charset="utf-8">
<title>electron-datasocket e2e</title>
${loader}
<script nonce="${request.nonce}">
document.documentElement.dataset.netAtFirstScript = typeof (window.Net && window.Net.DataSocket);
document.documentElement.dataset.evalInPage = (() => { try { new Function(''); return 'allowed'; } catch { return 'blocked'; } })();
</script>
</head>
<body><p>electron-datasocket e2e page</p></body>
</html>
`;
}
