/**
 * The stand-in for one app instance's Electron main process, run as its own Node
 * process (`node --import tsx main-process.ts [--policy <name>]`, with its own
 * XDG_RUNTIME_DIR). It serves the test page over HTTP on 127.0.0.1 and takes the
 * pages' message ports as WebSockets: each WebSocket stands for one frame's
 * MessagePortMain and gets its own real Host (src/main/host.ts), as
 * installDataSocketBridge gives each frame one. The WebSocket closing (the frame's
 * document is gone: reload, navigation, closed tab) disposes that Host.
 *
 * It reports on stdout, one JSON line each: `ready` (with its port), `port` when a
 * frame connects, `disposed` when a frame's host is disposed (with how many sockets
 * it still held). It exits when stdin closes (its test is gone) or on SIGTERM.
 */
import crypto from 'node:crypto';
import http from 'node:http';
import { parseArgs } from 'node:util';
import { WebSocketServer, type WebSocket } from 'ws';
import { DEFAULT_LIMITS, Host, type DisposeReason } from '../../../src/main/host.js';
import type { HostMessage } from '../../../src/shared/bridge-protocol.js';
import { decodeMessage, encodeMessage, HOST_TO_PAGE, STRICT } from '../stand-in/wire-json.js';
import { buildLoaders, type PreloadKind } from './bundles.js';
import { pageHtml, pagePolicy } from './page-html.js';
import { isPolicyName, POLICIES, type PageContext } from './policies.js';

/** What the harness reports on stdout. */
export type HarnessEvent =
  | { ev: 'ready'; port: number; runtimeDir: string }
  | { ev: 'port'; frame: number; url: string }
  | { ev: 'disposed'; frame: number; reason: DisposeReason; sockets: number }
  | { ev: 'refused-ipc'; frame: number; message: string };

function report(event: HarnessEvent): void {
  process.stdout.write(`${JSON.stringify(event)}\n`);
}

const { values: args } = parseArgs({ options: { policy: { type: 'string', default: 'default' } } });
const policyName = args.policy;
if (!isPolicyName(policyName)) throw new Error(`unknown policy '${policyName}'; known: ${Object.keys(POLICIES).join(', ')}`);
const policy = POLICIES[policyName];
const runtimeDir = process.env.XDG_RUNTIME_DIR;
if (runtimeDir === undefined) throw new Error('the harness needs its own XDG_RUNTIME_DIR');

const loaders = await buildLoaders();
let origin = '';

const server = http.createServer((request, response) => {
  const url = new URL(request.url ?? '/', origin);
  if (url.pathname === '/page') {
    const preload = url.searchParams.get('preload') ?? 'datasocket';
    if (preload !== 'none' && !(preload in loaders)) {
      response.writeHead(400).end(`unknown preload ${preload}`);
      return;
    }
    const nonce = crypto.randomBytes(16).toString('base64');
    response.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'content-security-policy': pagePolicy(nonce, origin), 'cache-control': 'no-store' });
    response.end(pageHtml({ preload: preload as PreloadKind | 'none', internals: url.searchParams.get('internals') === '1', nonce, origin, platform: process.platform }));
    return;
  }
  const script = /^\/stand-in\/([a-z]+)\.js$/.exec(url.pathname)?.[1];
  if (script !== undefined && script in loaders) {
    response.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8', 'cache-control': 'no-store' });
    response.end(loaders[script as PreloadKind]);
    return;
  }
  // Browsers ask for it unprompted; a 404 would be console noise in every page.
  response.writeHead(url.pathname === '/favicon.ico' ? 204 : 404).end();
});

const frames = new Map<number, { host: Host<PageContext>; socket: WebSocket }>();
let lastFrame = 0;

const ports = new WebSocketServer({ server, path: '/port' });
ports.on('connection', (socket, request) => {
  const frame = ++lastFrame;
  const url = new URL(request.url ?? '/', origin).searchParams.get('page') ?? '';
  const post = (message: HostMessage): void => {
    if (socket.readyState === socket.OPEN) socket.send(encodeMessage(message, HOST_TO_PAGE));
  };
  const host = new Host<PageContext>(post, { policy, limits: DEFAULT_LIMITS, context: () => ({ url }) });
  frames.set(frame, { host, socket });
  report({ ev: 'port', frame, url });
  socket.on('message', (data) => {
    let message: unknown;
    try {
      message = decodeMessage(String(data), STRICT);
    } catch (error) {
      // The page's side encodes strictly, so this is a bug of the stand-in itself: make it visible.
      report({ ev: 'refused-ipc', frame, message: (error as Error).message });
      socket.close(1003);
      return;
    }
    host.receive(message);
  });
  socket.on('close', () => dispose(frame, 'port-closed'));
  socket.on('error', () => dispose(frame, 'port-closed'));
});

function dispose(frame: number, reason: DisposeReason): void {
  const served = frames.get(frame);
  if (served === undefined) return;
  frames.delete(frame);
  const sockets = served.host.size;
  served.host.dispose(reason);
  report({ ev: 'disposed', frame, reason, sockets });
}

let stopping = false;
function stop(): void {
  if (stopping) return;
  stopping = true;
  for (const frame of [...frames.keys()]) dispose(frame, 'quit');
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
  report({ ev: 'ready', port: address.port, runtimeDir });
});
