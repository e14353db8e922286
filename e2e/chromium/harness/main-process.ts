/**
 * The stand-in for one app instance's Electron main process, run as its own Node
 * process (`node --import tsx main-process.ts [--policy <name>] [--preload <kind>]
 * [--internals] [--report-ipc] [--label <name>] [--loader-file <file>]`, with its own XDG_RUNTIME_DIR).
 * `--loader-file`: the loader bundles.ts builds for the preload, built once by the test worker
 * (the same for every instance of a kind) instead of at each start. The suite runs this file
 * bundled by esbuild, once per worker (../helpers/app-instance.ts). What the pages get is decided here,
 * at start, as an Electron app decides it in main: which preload runs, and whether
 * the stand-in's test-only internals are on. Nothing in a page's URL changes it.
 *
 * It serves the test page over HTTP on 127.0.0.1, and for each document it serves
 * (navigations only: a page's fetch() gets none) it issues a token and records the
 * document's URL. The loader hands the token only to the isolated realm. A message
 * port arrives as a WebSocket carrying that token and the document's port number;
 * any other WebSocket is refused, and each (token, port number) pair is accepted
 * once, in order. Each accepted port stands for a MessagePortMain and gets its own
 * real Host (src/main/host.ts), whose policy sees the URL the harness recorded,
 * never one the page supplies. As installDataSocketBridge does per frame, a second
 * port from the same document disposes the document's earlier Host; the WebSocket
 * closing (the document is gone: reload, navigation, closed tab) disposes its Host.
 *
 * It reports on stdout, one JSON line each: `ready` (with its port), `port` when a
 * document's port is accepted, `refused-port` when a WebSocket is refused, `disposed`
 * when a host is disposed (with how many sockets it still held), and with
 * `--report-ipc` (the stand-in's own tests) `ipc` for every message a port brings,
 * in its wire form, before the Host sees it: what Electron's main would have
 * received (`null` where Electron loses a message's data). `frame` is the document's
 * number. It exits when stdin closes (its test is gone) or on SIGTERM.
 *
 * Like an Electron app's main, it takes DATASOCKET_NAMESPACE and DATASOCKET_TRACE from
 * the environment it was started with (the test's, from the testing kit): its pages'
 * bare names resolve in that namespace, and each Host traces its page's sockets there,
 * labelled `<label> frame <n>` (`ready` says which namespace and trace directory it got).
 * The trace is written out when it exits (the library's trace writer flushes at exit).
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { Duplex } from 'node:stream';
import { parseArgs } from 'node:util';
import { WebSocketServer, type WebSocket } from 'ws';
import { DEFAULT_LIMITS, Host, type DisposeReason } from '../../../src/main/bridge/host.js';
import type { HostMessage } from '../../../src/shared/bridge-protocol.js';
import { decodeMessage, encodeMessage, HOST_TO_PAGE, STRICT } from '../stand-in/wire-json.js';
import { buildLoader, isPreloadKind } from './bundles.js';
import { pageHtml, pagePolicy } from './page-html.js';
import { isPolicyName, POLICIES, type PageContext } from './policies.js';

/** What the harness reports on stdout. */
export type HarnessEvent =
  | { ev: 'ready'; port: number; runtimeDir: string; namespace: string | null; traceDir: string | null }
  | { ev: 'port'; frame: number; url: string }
  | { ev: 'refused-port'; reason: string }
  | { ev: 'disposed'; frame: number; reason: DisposeReason; sockets: number }
  | { ev: 'refused-ipc'; frame: number; message: string }
  | { ev: 'ipc'; frame: number; message: unknown };

function report(event: HarnessEvent): void {
  process.stdout.write(`${JSON.stringify(event)}\n`);
}

const { values: args } = parseArgs({
  options: {
    policy: { type: 'string', default: 'default' },
    preload: { type: 'string', default: 'datasocket' },
    internals: { type: 'boolean', default: false },
    'report-ipc': { type: 'boolean', default: false },
    label: { type: 'string', default: 'app' },
    'loader-file': { type: 'string' },
  },
});
const policyName = args.policy;
if (!isPolicyName(policyName)) throw new Error(`unknown policy '${policyName}'; known: ${Object.keys(POLICIES).join(', ')}`);
const policy = POLICIES[policyName];
const preloadKind = args.preload;
if (preloadKind !== 'none' && !isPreloadKind(preloadKind)) throw new Error(`unknown preload '${preloadKind}'`);
const runtimeDir = process.env.XDG_RUNTIME_DIR;
if (runtimeDir === undefined) throw new Error('the harness needs its own XDG_RUNTIME_DIR');

const LOADER_PATH = '/stand-in/loader.js';
const loaderFile = args['loader-file'];
const loader = preloadKind === 'none' ? null : loaderFile === undefined ? await buildLoader(preloadKind) : fs.readFileSync(loaderFile, 'utf8');
let origin = '';

/** A port of a document, with its Host. */
interface Served {
  readonly host: Host<PageContext>;
  readonly socket: WebSocket;
}

/** A document the harness served, by its token. */
interface ServedDocument {
  readonly frame: number;
  /** The URL the browser asked for: what the policy sees. */
  readonly url: string;
  /** Port numbers used so far; the next port must bring this plus one. */
  ports: number;
  current: Served | null;
}

const documents = new Map<string, ServedDocument>();
const live = new Set<Served>();
let lastFrame = 0;

const server = http.createServer((request, response) => {
  const url = new URL(request.url ?? '/', origin);
  if (url.pathname === '/page') {
    // Sec-Fetch-Mode is set by the browser and no script can forge it: a token goes only to a document being loaded in a frame.
    if (request.headers['sec-fetch-mode'] !== 'navigate') {
      response.writeHead(403).end('the test page is served to navigations only');
      return;
    }
    const nonce = crypto.randomBytes(16).toString('base64');
    let token = '';
    if (loader !== null) {
      token = crypto.randomBytes(24).toString('base64url');
      documents.set(token, { frame: ++lastFrame, url: url.href, ports: 0, current: null });
    }
    response.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'content-security-policy': pagePolicy(nonce, origin), 'cache-control': 'no-store' });
    response.end(pageHtml({ loader: loader === null ? null : { src: LOADER_PATH, token, internals: args.internals }, nonce, origin, platform: process.platform }));
    return;
  }
  if (loader !== null && url.pathname === LOADER_PATH) {
    response.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8', 'cache-control': 'no-store' });
    response.end(loader);
    return;
  }
  // Browsers ask for it unprompted; a 404 would be console noise in every page.
  response.writeHead(url.pathname === '/favicon.ico' ? 204 : 404).end();
});

/** The document a port WebSocket belongs to, claiming its port number; or why it is refused. */
function claim(request: http.IncomingMessage): ServedDocument | string {
  const url = new URL(request.url ?? '/', origin);
  if (url.pathname !== '/port') return `not the port path: ${url.pathname}`;
  if (request.headers.origin !== origin) return `foreign origin: ${String(request.headers.origin)}`;
  const token = url.searchParams.get('token');
  const document = token === null ? undefined : documents.get(token);
  if (document === undefined) return token === null ? 'no token' : 'a token this harness never issued';
  const port = Number(url.searchParams.get('port'));
  if (port !== document.ports + 1) return `port ${String(url.searchParams.get('port'))} of frame ${document.frame} is used or out of order (next is ${document.ports + 1})`;
  document.ports = port;
  return document;
}

const ports = new WebSocketServer({ noServer: true });
server.on('upgrade', (request: http.IncomingMessage, socket: Duplex, head: Buffer) => {
  const document = claim(request);
  if (typeof document === 'string') {
    report({ ev: 'refused-port', reason: document });
    socket.end('HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    return;
  }
  ports.handleUpgrade(request, socket, head, (webSocket) => accept(document, webSocket));
});

function accept(document: ServedDocument, socket: WebSocket): void {
  // One document, one host: its new port replaces the earlier one, as installDataSocketBridge does per frame.
  if (document.current !== null) dispose(document, document.current, 'navigated');
  const { frame, url } = document;
  const post = (message: HostMessage): void => {
    if (socket.readyState === socket.OPEN) socket.send(encodeMessage(message, HOST_TO_PAGE));
  };
  // No namespace option: as in an app's main, the page's bare names resolve in main's DATASOCKET_NAMESPACE.
  const host = new Host<PageContext>(post, { policy, limits: DEFAULT_LIMITS, traceLabel: `${args.label} frame ${frame}`, context: () => ({ url }) });
  const served: Served = { host, socket };
  document.current = served;
  live.add(served);
  report({ ev: 'port', frame, url });
  socket.on('message', (data) => {
    let message: unknown;
    if (args['report-ipc']) report({ ev: 'ipc', frame, message: JSON.parse(String(data)) as unknown });
    try {
      message = decodeMessage(String(data), STRICT);
    } catch (error) {
      // The page's side encodes strictly, so this is a bug of the stand-in itself: make it visible.
      report({ ev: 'refused-ipc', frame, message: (error as Error).message });
      socket.close(1003);
      return;
    }
    served.host.receive(message);
  });
  socket.on('close', () => dispose(document, served, 'port-closed'));
  socket.on('error', () => dispose(document, served, 'port-closed'));
}

function dispose(document: ServedDocument, served: Served, reason: DisposeReason): void {
  if (!live.delete(served)) return;
  if (document.current === served) document.current = null;
  const sockets = served.host.size;
  served.host.dispose(reason);
  // The page's end of this port closes, as a MessagePortMain's close reaches the renderer.
  served.socket.close();
  report({ ev: 'disposed', frame: document.frame, reason, sockets });
}

let stopping = false;
function stop(): void {
  if (stopping) return;
  stopping = true;
  for (const document of documents.values()) if (document.current !== null) dispose(document, document.current, 'quit');
  for (const client of ports.clients) client.terminate();
  ports.close();
  server.close();
  // Give the peers' clean closes (END frames) a moment to leave, then go.
  setTimeout(() => process.exit(0), 200).unref();
}
process.stdin.on('end', stop);
process.stdin.resume();
process.on('SIGTERM', stop);

server.listen(0, '127.0.0.1', () => {
  const address = server.address() as { port: number };
  origin = `http://127.0.0.1:${address.port}`;
  // What this process's sockets will use: an empty variable counts as unset, as the library reads it.
  const namespace = process.env.DATASOCKET_NAMESPACE || null;
  const traceDir = process.env.DATASOCKET_TRACE || null;
  report({ ev: 'ready', port: address.port, runtimeDir, namespace, traceDir });
});
