/**
 * The example the README shows: a test of an Electron app that uses
 * electron-datasocket, written with electron-datasocket/testing. Two instances of the
 * app (here the demo, built into out/) connect from their windows to the test's probe
 * and each sends it a value; the probe answers both at once. Nothing sleeps: every
 * step waits for something the app does — its window showing the socket open, its
 * value arriving at the probe, the answer in its window.
 */
import { expect, type Locator } from '@playwright/test';
import { DataSocketProbe, test } from '../../src/testing/index.js'; // in your project: 'electron-datasocket/testing'
import { noElectron } from './demo-app.js';

// Not part of the example: our own suite runs where an Electron binary is installed.
test.skip(noElectron !== null, noElectron ?? '');

test('two instances of the app send to the test, and the test answers both', async ({ launchInstance }) => {
  // The test's end: it listens where the demo's window connects by default. Bare names resolve
  // in this test's own namespace, so no other test, and no copy of the app you are running, meets it.
  await using probe = await DataSocketProbe.listen('datasocket-demo').ready();

  const sockets: Locator[] = [];
  for (const label of ['a', 'b']) {
    // Its own userData directory and this test's namespace; closed after the test, whatever happens.
    const instance = await launchInstance({ args: ['out/main/index.js'], label });
    const window = await instance.app.firstWindow();
    await window.waitForURL('**/index.html'); // the app's page has loaded: its buttons work

    await window.getByTestId('connect-button').click();
    const socket = window.locator('[data-testid="socket"][data-kind="client"]');
    await expect(socket).toHaveAttribute('data-state', 'open');
    await socket.getByTestId('send-json').fill(`{"from": "${label}"}`);
    await socket.getByTestId('send-json-button').click();
    expect(await probe.next()).toEqual({ from: label });
    sockets.push(socket);
  }

  expect(probe.send({ to: 'both' })).toBe(2);
  for (const socket of sockets) {
    await expect(socket.locator('[data-testid="log-entry"][data-event="data"]')).toHaveText(['data {"to":"both"}']);
  }
});
