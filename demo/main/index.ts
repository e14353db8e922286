/**
 * The demo app's main process (not part of the library build): one window whose
 * sandboxed preload gives the page `window.Net.DataSocket`, served by the bridge
 * installed here.
 *
 * `npm start` builds it into out/ and runs it with `electron-vite preview`, which
 * needs the Electron binary: the `electron` package downloads it from GitHub on
 * first use (node_modules/electron/dist), so it cannot run where only the npm
 * registry is reachable.
 *
 * Start two instances to try it on one machine: listen in one, connect from the
 * other. Or start three and press Join in each: they find each other
 * (connectOrListen), one leads and shows how many followers it has; close its
 * window and another instance leads. Each instance needs its own user data
 * directory — two Chromiums sharing one fight over its locks — so pass
 * `--user-data-dir=<dir>` or set DATASOCKET_DEMO_USER_DATA=<dir>, e.g. once built:
 *   npx electron-vite preview --skipBuild --entry out/main/index.js -- --user-data-dir=/tmp/demo-b
 * (The sockets do not depend on it: every instance of one user meets in that user's
 * socket directory, whatever its user data directory.)
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { app, BrowserWindow, session } from 'electron';
import { installDataSocketBridge } from 'electron-datasocket/main';

const here = path.dirname(fileURLToPath(import.meta.url));

/** The switch wins over the environment; by default a directory of our own, not the shared "Electron" one. */
function userDataDir(): string {
  const given = app.commandLine.getSwitchValue('user-data-dir') || process.env['DATASOCKET_DEMO_USER_DATA'];
  return given ? path.resolve(given) : path.join(app.getPath('appData'), 'electron-datasocket-demo');
}

function openWindow(): void {
  const window = new BrowserWindow({
    width: 980,
    height: 760,
    title: 'DataSocket demo',
    webPreferences: {
      preload: path.join(here, '../preload/index.js'),
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
    },
  });
  // The DataSocket is for this app's own page: no pop-ups, and no navigating to a
  // page elsewhere, which would get the preload (and the sockets) too. Reloading is fine.
  window.webContents.setWindowOpenHandler(() => ({ action: 'deny' }));
  window.webContents.on('will-navigate', (event) => {
    if (event.url !== window.webContents.getURL()) event.preventDefault();
  });
  window.loadFile(path.join(here, '../renderer/index.html')).catch((error: unknown) => {
    console.error('demo: the window failed to load', error);
  });
}

// setPath must run before 'ready'. An ES module main's synchronous top level does:
// Electron emits 'ready' only once the entry module has been evaluated.
const userData = userDataDir();
mkdirSync(userData, { recursive: true });
app.setPath('userData', userData);

installDataSocketBridge();

app.on('window-all-closed', () => {
  if (process.platform !== 'darwin') app.quit();
});

void app.whenReady().then(() => {
  // The page asks for nothing (no camera, no notifications...): refuse whatever is asked.
  session.defaultSession.setPermissionRequestHandler((_webContents, _permission, callback) => callback(false));
  openWindow();
  app.on('activate', () => {
    if (BrowserWindow.getAllWindows().length === 0) openWindow();
  });
});
