/**
 * The demo window's UI: listen, connect, send a JSON value or a file, close —
 * and every event of every socket in that socket's log; and instances that find
 * each other (group.ts). Plain DOM over the page's DataSocket
 * (`window.Net.DataSocket`, typed by electron-datasocket/renderer).
 * The data-testid attributes are what e2e/electron drives; keep them stable.
 */
// As any app does: by the package's name (the build resolves it to dist/, the type-check to src/).
import { DataSocket, type PageDataSocket } from 'electron-datasocket/renderer';
import { setUpGroupPanel } from './group.js';

/** `link`: a link of the group panel's rendezvous (to the leader, or to a follower). */
type Kind = 'listener' | 'client' | 'accepted' | 'link';

/** One socket's card: its log, and what the listener needs to note refusals. */
interface Card {
  readonly id: number;
  log(event: string, detail?: string): void;
}

function element<T extends Element>(root: ParentNode, testId: string): T {
  const found = root.querySelector<T>(`[data-testid="${testId}"]`);
  if (found === null) throw new Error(`demo: [data-testid="${testId}"] is missing from index.html`);
  return found;
}

const socketList = element<HTMLElement>(document, 'sockets');
const template = element<HTMLTemplateElement>(document, 'socket-template');
const problem = element<HTMLElement>(document, 'problem');
let lastId = 0;

/** What went wrong at a call (a bad name, a bad port, text that is not JSON); a live socket's errors go to its log. */
function report(error: unknown): void {
  const code = error instanceof Error && 'code' in error ? `${String(error.code)}: ` : '';
  problem.textContent = error instanceof Error ? `${code}${error.message}` : String(error);
  problem.hidden = false;
}

function clearProblem(): void {
  problem.hidden = true;
  problem.textContent = '';
}

function hexHead(bytes: Uint8Array): string {
  const head = Array.from(bytes.subarray(0, 16), (b) => b.toString(16).padStart(2, '0')).join(' ');
  return `bytes(${bytes.length})${head === '' ? '' : ` ${head}`}${bytes.length > 16 ? ' …' : ''}`;
}

/** One line for a received value: JSON where it can, and spelled out where JSON cannot (bytes, BigInt, Map, NaN...). */
function describe(value: unknown): string {
  if (value === undefined) return 'undefined';
  try {
    const text = JSON.stringify(value, (_key, v: unknown) => {
      if (typeof v === 'bigint') return `${v}n`;
      if (typeof v === 'number' && !Number.isFinite(v)) return String(v);
      if (v instanceof Uint8Array) return hexHead(v);
      if (v instanceof ArrayBuffer) return `ArrayBuffer ${hexHead(new Uint8Array(v))}`;
      if (ArrayBuffer.isView(v)) return `${v.constructor.name}(${v.byteLength} bytes)`;
      if (v instanceof Map) return { Map: [...v] };
      if (v instanceof Set) return { Set: [...v] };
      if (v instanceof RegExp) return String(v);
      if (v instanceof Error) return `${v.name}: ${v.message}`;
      return v;
    });
    return text ?? String(value);
  } catch {
    return Object.prototype.toString.call(value); // circular: JSON cannot say it
  }
}

function formatAddress(address: PageDataSocket['address']): string {
  if (address.path !== undefined) return address.path;
  return address.port === undefined ? address.name : `${address.name}:${address.port}`;
}

/** An empty port field means a local socket; anything else goes to the DataSocket as a number, which checks it. */
function portOf(input: HTMLInputElement): number | undefined {
  const text = input.value.trim();
  return text === '' ? undefined : Number(text);
}

/** Adds a card for `socket` and logs its events there, from now on. */
function addCard(socket: PageDataSocket, kind: Kind, title: string): Card {
  const id = ++lastId;
  const fragment = template.content.cloneNode(true) as DocumentFragment;
  const card = element<HTMLElement>(fragment, 'socket');
  card.dataset['socketId'] = String(id);
  card.dataset['kind'] = kind;
  const heading = card.querySelector('.title');
  if (heading !== null) heading.textContent = `#${id} ${title}`;
  const stateText = element<HTMLElement>(card, 'socket-state');
  const addressText = element<HTMLElement>(card, 'socket-address');
  const logList = element<HTMLOListElement>(card, 'log');
  const closeButton = element<HTMLButtonElement>(card, 'close-button');
  const sendBox = card.querySelector<HTMLElement>('.send');
  const sendForm = element<HTMLFormElement>(card, 'send-form');
  const jsonInput = element<HTMLInputElement>(card, 'send-json');
  const fileInput = element<HTMLInputElement>(card, 'send-file');

  const refresh = (): void => {
    card.dataset['state'] = socket.state;
    stateText.textContent = socket.state;
    addressText.textContent = formatAddress(socket.address);
  };
  const log = (event: string, detail = ''): void => {
    const entry = document.createElement('li');
    entry.dataset['testid'] = 'log-entry';
    entry.dataset['event'] = event;
    entry.textContent = detail === '' ? event : `${event} ${detail}`;
    logList.append(entry);
    refresh();
  };
  const send = (value: unknown, label: string): void => {
    clearProblem();
    try {
      const belowHighWaterMark = socket.send(value);
      log('send', belowHighWaterMark ? label : `${label} (queued above the high-water mark)`);
    } catch (error) {
      report(error);
    }
  };

  socket
    .on('connect', () => log('connect'))
    .on('listening', () => log('listening', formatAddress(socket.address)))
    .on('data', (value) => log('data', describe(value)))
    .on('sent', () => log('sent'))
    .on('drain', () => log('drain'))
    .on('clientError', (error) => log('clientError', `${error.code}: ${error.message}`))
    .on('error', (error) => log('error', `${error.code}: ${error.message}`))
    .on('close', () => {
      log('close');
      closeButton.disabled = true;
      if (sendBox !== null) sendBox.hidden = true;
    });

  if (sendBox !== null) sendBox.hidden = kind === 'listener';
  closeButton.addEventListener('click', () => {
    socket.close();
    refresh();
  });
  sendForm.addEventListener('submit', (event) => {
    event.preventDefault();
    let value: unknown;
    try {
      value = JSON.parse(jsonInput.value);
    } catch (error) {
      report(new Error(`not JSON: ${error instanceof Error ? error.message : String(error)}`));
      return;
    }
    send(value, describe(value));
  });
  fileInput.addEventListener('change', () => {
    const file = fileInput.files?.[0];
    fileInput.value = ''; // so that choosing the same file again sends it again
    if (file === undefined) return;
    // A value, not just bytes: the other side gets the name and type along with the content.
    file.arrayBuffer().then(
      (buffer) => send({ name: file.name, type: file.type, bytes: new Uint8Array(buffer) }, `${file.name} (${buffer.byteLength} bytes)`),
      report,
    );
  });

  refresh();
  socketList.append(card);
  return { id, log };
}

element<HTMLFormElement>(document, 'listen-form').addEventListener('submit', (event) => {
  event.preventDefault();
  clearProblem();
  const name = element<HTMLInputElement>(document, 'listen-name').value.trim();
  const port = portOf(element<HTMLInputElement>(document, 'listen-port'));
  const refuse = element<HTMLInputElement>(document, 'listen-refuse').checked;
  try {
    // The acceptor only runs once a connection's handshake is done, after `listen` returned and the card exists.
    let listenerCard: Card | undefined;
    const listener = DataSocket.listen(
      (connection) => {
        if (refuse) {
          listenerCard?.log('refused', formatAddress(connection.address));
          return false;
        }
        addCard(connection, 'accepted', `accepted by #${listenerCard?.id ?? '?'}`);
        return true;
      },
      name,
      port,
    );
    listenerCard = addCard(listener, 'listener', `listener on ${port === undefined ? name : `${name}:${port}`}${refuse ? ' (refusing)' : ''}`);
  } catch (error) {
    report(error);
  }
});

element<HTMLFormElement>(document, 'connect-form').addEventListener('submit', (event) => {
  event.preventDefault();
  clearProblem();
  const name = element<HTMLInputElement>(document, 'connect-name').value.trim();
  const port = portOf(element<HTMLInputElement>(document, 'connect-port'));
  try {
    addCard(DataSocket.connect(name, port), 'client', `client to ${port === undefined ? name : `${name}:${port}`}`);
  } catch (error) {
    report(error);
  }
});

setUpGroupPanel({
  element: <T extends Element>(testId: string): T => element<T>(document, testId),
  addCard: (socket, title) => void addCard(socket, 'link', title),
  report,
  clearProblem,
});
