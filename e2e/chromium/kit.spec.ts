/**
 * §13 on this suite: it runs on the testing kit (electron-datasocket/testing). Each test's
 * namespace reaches the app instances it starts, so fixed names never meet another
 * test's; and their main processes trace their pages' sockets into the test's trace
 * directory beside the test process's own records — the merged trace the kit attaches
 * to the report of a failed test. Read back here with the built CLI (`datasocket trace`).
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { expect } from '@playwright/test';
import { socketDirectory } from '../../src/main/socket/endpoint.js';
import { DataSocketProbe, test } from '../../src/testing/index.js';
import { reachOf } from './helpers/app-page.js';
import { useAppPages } from './helpers/app-pages.js';

const CLI = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../dist/main/cli/cli.js');

/** A trace record as `datasocket trace --json` prints it. */
interface Entry {
  pid: number;
  event: string;
  endpoint: string;
  role: string;
  page?: string;
  bytes?: number;
}

test.describe('§13 the suite on the testing kit: a namespace per test, and the trace of every process', () => {
  const world = useAppPages({ A: {}, B: {} });

  test("the test's namespace reaches the instances it starts and the test process's own sockets: one fixed name, three places", async ({ datasocketNamespace, datasocketTraceDir }) => {
    const { A, B } = world.page;
    for (const app of [world.app.A, world.app.B]) expect({ namespace: app.namespace, traceDir: app.traceDir }).toEqual({ namespace: datasocketNamespace, traceDir: datasocketTraceDir });
    const probe = DataSocketProbe.listen('kit');
    try {
      await probe.ready();
      const inA = await A.listen('l', 'kit');
      const inB = await B.listen('l', 'kit');
      // Each instance has its own runtime dir (its own user session); inside it, the name is in the test's namespace.
      expect(inA.address.path).toBe(path.join(world.app.A.runtimeDir, 'datasocket', datasocketNamespace, 'kit.sock'));
      expect(inB.address.path).toBe(path.join(world.app.B.runtimeDir, 'datasocket', datasocketNamespace, 'kit.sock'));
      expect(probe.address.path).toBe(path.join(socketDirectory(), datasocketNamespace, 'kit.sock'));
    } finally {
      await probe.close();
    }
  });

  test("the harnesses trace their pages' sockets into the test's trace directory, labelled by instance and frame, beside the test process's probe", async ({ datasocketTraceDir }) => {
    const { A, B } = world.page;
    const probe = DataSocketProbe.listen('kit');
    try {
      await probe.ready();
      const listener = await A.listen('l', 'kit');
      await B.connect('c', reachOf(listener));
      await B.until('c', 'connect');
      await B.send('c', 'from B');
      await A.until('l#1', 'data');
      await A.connect('out', { name: probe.address.path! });
      await A.send('out', { from: 'A' });
      expect(await probe.next()).toEqual({ from: 'A' });
    } finally {
      await Promise.all([A.closeAll(), B.closeAll()]);
      await probe.close();
    }
    // A harness writes the rest of its trace as it exits (after the test, the kit reads it when the test failed).
    await Promise.all([world.app.A.stop(), world.app.B.stop()]);

    const { stdout } = await promisify(execFile)(process.execPath, [CLI, 'trace', datasocketTraceDir, '--json']);
    const entries = stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Entry);
    const of = (page: string): Entry[] => entries.filter((e) => e.page === page);
    const events = (list: Entry[], role: string): string[] => [...new Set(list.filter((e) => e.role === role).map((e) => e.event))];

    // Page A's sockets, traced by A's main process: its listener, the connection B made to it, its client to the probe.
    expect(new Set(of('A frame 1').map((e) => e.pid))).toEqual(new Set([world.app.A.pid]));
    expect(events(of('A frame 1'), 'listener')).toEqual(expect.arrayContaining(['listening', 'close']));
    expect(events(of('A frame 1'), 'accepted')).toEqual(expect.arrayContaining(['connect', 'data', 'close']));
    expect(events(of('A frame 1'), 'client')).toEqual(expect.arrayContaining(['connect', 'sent', 'close']));
    // Page B's client, traced by B's main process, with the bytes it sent.
    expect(new Set(of('B frame 1').map((e) => e.pid))).toEqual(new Set([world.app.B.pid]));
    expect(events(of('B frame 1'), 'client')).toEqual(expect.arrayContaining(['connect', 'sent', 'close']));
    expect(of('B frame 1').find((e) => e.event === 'sent')?.bytes).toBeGreaterThan(0);
    // The probe, traced by the test process itself, in the same timeline.
    const own = entries.filter((e) => e.pid === process.pid);
    expect(own.every((e) => e.page === undefined)).toBe(true);
    expect(events(own, 'accepted')).toEqual(expect.arrayContaining(['connect', 'data', 'close']));
  });
});
