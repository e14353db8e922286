/**
 * The demo's "Find each other" panel: instances that join one name find each other
 * with `DataSocket.connectOrListen` (SPEC §9). The first to join leads (it listens),
 * the others follow (they connect to it); when the leader's window closes, the
 * followers elect a new leader among themselves. The panel shows this instance's role
 * (and, leading, how many followers are linked), gives each link a socket card of its
 * own, and sends one line to every link at once. The data-testid attributes are what
 * e2e/electron drives; keep them stable.
 */
import { DataSocket, type PageDataSocket, type Rendezvous, type RendezvousRole } from 'electron-datasocket/renderer';

/** What the panel borrows from the rest of the page. */
export interface GroupPage {
  element<T extends Element>(testId: string): T;
  /** Gives a link a socket card of its own: its log, a send box, a close button. */
  addCard(socket: PageDataSocket, title: string): void;
  report(error: unknown): void;
  clearProblem(): void;
}

/** `none`: this page has not joined (or has left). */
type Shown = RendezvousRole | 'none';

const ROLE_TEXT: Record<Shown, string> = {
  none: 'not joined',
  electing: 'electing…',
  leader: 'leader',
  follower: 'follower',
  closed: 'left',
};

/** A line read as the CLI's `datasocket join` reads one: JSON, else the text itself. So the demo and the CLI can share a group. */
function valueOf(line: string): unknown {
  try {
    return JSON.parse(line) as unknown;
  } catch {
    return line;
  }
}

/** Wires the panel's form, buttons and role indicator. */
export function setUpGroupPanel(page: GroupPage): void {
  const nameInput = page.element<HTMLInputElement>('join-name');
  const joinButton = page.element<HTMLButtonElement>('join-button');
  const leaveButton = page.element<HTMLButtonElement>('leave-button');
  const roleText = page.element<HTMLElement>('role');
  const linkCount = page.element<HTMLElement>('link-count');
  const lineInput = page.element<HTMLInputElement>('broadcast-text');
  const sendButton = page.element<HTMLButtonElement>('broadcast-button');
  const groupLog = page.element<HTMLOListElement>('group-log');
  const baseTitle = document.title;

  let member: Rendezvous<PageDataSocket> | null = null;
  /** The open links: leading, one per follower; following, the one to the leader. */
  const links = new Set<PageDataSocket>();

  const log = (event: string, detail = ''): void => {
    const entry = document.createElement('li');
    entry.dataset['testid'] = 'group-log-entry';
    entry.dataset['event'] = event;
    entry.textContent = detail === '' ? event : `${event} ${detail}`;
    groupLog.append(entry);
  };

  /** Shows the role everywhere it is seen: the indicator, the link count, the window's title, the buttons. */
  const show = (): void => {
    const role: Shown = member?.role ?? 'none';
    roleText.dataset['role'] = role;
    roleText.textContent = ROLE_TEXT[role];
    linkCount.dataset['count'] = String(links.size);
    if (role === 'leader') linkCount.textContent = `${links.size} follower${links.size === 1 ? '' : 's'} linked`;
    else if (role === 'follower' && links.size > 0) linkCount.textContent = 'linked to the leader';
    else linkCount.textContent = '';
    // Several windows of the demo side by side: the title says which one leads.
    document.title = role === 'none' ? baseTitle : `${baseTitle} — ${ROLE_TEXT[role]}${role === 'leader' ? ` (${links.size})` : ''}`;
    joinButton.disabled = member !== null;
    nameInput.disabled = member !== null;
    leaveButton.disabled = member === null;
    sendButton.disabled = links.size === 0;
  };

  page.element<HTMLFormElement>('join-form').addEventListener('submit', (event) => {
    event.preventDefault();
    page.clearProblem();
    const name = nameInput.value.trim();
    let joined: Rendezvous<PageDataSocket>;
    try {
      // Every follower is welcome; a real app would check who connects here.
      joined = DataSocket.connectOrListen(() => true, name);
    } catch (error) {
      page.report(error);
      return;
    }
    member = joined;
    joined
      .on('role', (role) => {
        log('role', role);
        show();
      })
      .on('connection', (link) => {
        const leading = joined.role === 'leader';
        links.add(link);
        link.on('close.group', () => {
          links.delete(link);
          show();
        });
        page.addCard(link, leading ? `follower in '${name}'` : `link to the leader of '${name}'`);
        log('link', leading ? 'a follower joined' : 'linked to the leader');
        show();
      })
      .on('error', (error) => {
        log('error', `${error.code}: ${error.message}`);
        page.report(error);
      })
      .on('close', () => {
        if (member === joined) member = null;
        show();
      });
    log('join', name);
    show();
  });

  page.element<HTMLButtonElement>('leave-button').addEventListener('click', () => {
    if (member === null) return;
    log('leave');
    // Leaving the group: stop leading or following, and close the links it handed out (they are ours).
    member.close();
    for (const link of links) link.close();
    show();
  });

  page.element<HTMLFormElement>('broadcast-form').addEventListener('submit', (event) => {
    event.preventDefault();
    page.clearProblem();
    const line = lineInput.value;
    if (line.trim() === '') return;
    const value = valueOf(line);
    let sent = 0;
    for (const link of links) {
      if (!link.active) continue;
      try {
        link.send(value);
        sent++;
      } catch (error) {
        page.report(error);
      }
    }
    log('send', `${line} → ${sent} link${sent === 1 ? '' : 's'}`);
    lineInput.value = '';
  });

  show();
}
