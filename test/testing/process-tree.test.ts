/**
 * SPEC §13: every launched instance's process tree is gone after the test. The kill
 * under test here is run against real process trees (test/fixtures/kit-tree.mjs): a
 * child that ignores SIGTERM with a child of its own, and a child in its own session.
 */
import { describe, expect, it } from 'vitest';
import type { ChildProcess } from 'node:child_process';
import { killProcessTree, listProcesses, processGroup, processInfo, processTree, type ProcessInfo } from '../../src/testing/process-tree.js';
import { DataSocketError, ErrorCode } from '../../src/shared/errors.js';
import { pidsOf, running, startBystander, startLateChild, startOf, startStranger, startTree, useTreeCleanup, waitGone } from './kit-tree.js';

useTreeCleanup();
const posix = process.platform !== 'win32';

describe.runIf(posix)('§13 process trees: processTree', () => {
  it('lists a process and all its descendants, root first, those in another session too', async () => {
    const { report } = await startTree();
    const tree = processTree(report.pid);
    expect(tree[0]!.pid).toBe(report.pid);
    expect(tree.map((p) => p.pid).sort()).toEqual(pidsOf(report).sort());
    // Started detached, the root leads its own group; the setsid child has left it.
    expect(tree.find((p) => p.pid === report.plain)!.pgid).toBe(report.pid);
    expect(tree.find((p) => p.pid === report.detached)!.pgid).toBe(report.detached);
  });

  it('is empty for a pid that does not run', async () => {
    const { child, report } = await startTree();
    child.kill('SIGKILL');
    await waitGone([report.pid]);
    expect(processTree(report.pid)).toEqual([]);
  });

  it("reads the same parents from `ps` (the macOS and BSD path) as from /proc", async () => {
    const { report } = await startTree();
    const fromPs = listProcesses('darwin');
    const parentOf = (pid: number) => fromPs.find((p) => p.pid === pid)?.ppid;
    expect([parentOf(report.plain), parentOf(report.nested), parentOf(report.detached)]).toEqual([report.pid, report.plain, report.pid]);
    expect(fromPs.find((p) => p.pid === report.pid)!.start).toMatch(/\d\d:\d\d:\d\d/);
  });
});

describe.runIf(posix)('§13 process trees: killProcessTree', () => {
  it('kills the whole tree (SIGTERM-proof and other-session members too) and nothing else', async () => {
    const bystander = startBystander();
    const { report } = await startTree();
    const result = await killProcessTree(report.pid, { timeoutMs: 10_000 });
    expect(await waitGone(pidsOf(report))).toEqual([]);
    expect(result.survivors).toEqual([]);
    expect(result.killed.map((p) => p.pid).sort()).toEqual(pidsOf(report).sort());
    expect(running(bystander.pid!)).toBe(true);
  });

  it('with a snapshot, also kills what was reparented when its parent died first', async () => {
    const { child, report } = await startTree();
    const snapshot = processTree(report.pid);
    child.kill('SIGKILL'); // the root dies: its children now belong to pid 1 (or a subreaper)
    await waitGone([report.pid]);
    expect(processTree(report.pid)).toEqual([]);
    const result = await killProcessTree(report.pid, { snapshot, timeoutMs: 10_000 });
    expect(await waitGone([report.plain, report.nested, report.detached])).toEqual([]);
    expect(result.killed.map((p) => p.pid).sort()).toEqual([report.plain, report.nested, report.detached].sort());
  });

  it('with a snapshot, also kills what joined the root’s process group after it, once orphaned', async () => {
    const { child, report } = await startTree({ detached: true });
    const snapshot = processTree(report.pid);
    const late = await startLateChild(child);
    expect(snapshot.map((p) => p.pid)).not.toContain(late);
    child.kill('SIGKILL');
    await waitGone([report.pid]);
    const result = await killProcessTree(report.pid, { snapshot, timeoutMs: 10_000 });
    expect(await waitGone([late, ...pidsOf(report)])).toEqual([]);
    expect(result.killed.map((p) => p.pid)).toContain(late);
  });

  it('never kills a process whose pid matches a snapshot entry but whose start time does not (a reused pid)', async () => {
    const bystander = startBystander();
    const pid = bystander.pid!;
    const stale = { pid, ppid: 1, pgid: pid, start: 'an earlier process', zombie: false };
    const { report } = await startTree();
    const result = await killProcessTree(report.pid, { snapshot: [stale], timeoutMs: 10_000 });
    expect(result.killed.map((p) => p.pid)).not.toContain(pid);
    expect(await waitGone(pidsOf(report))).toEqual([]);
    expect(running(pid)).toBe(true);
  });

  it('resolves with nothing killed for a tree that is already gone', async () => {
    const { child, report } = await startTree({ detached: false });
    const first = await killProcessTree(report.pid);
    if (child.exitCode === null && child.signalCode === null) await new Promise((resolve) => child.once('exit', resolve));
    expect(first.killed.length).toBe(4);
    expect(await killProcessTree(report.pid, { snapshot: first.killed })).toEqual({ killed: [], survivors: [] });
  });
});

/** Kills `child` and resolves, once this process has reaped it, with what `processGroup` saw as it exited. */
function killAndWatchGroup(child: ChildProcess, root: ProcessInfo): Promise<ProcessInfo[]> {
  return new Promise((resolve) => {
    child.once('exit', () => resolve(processGroup(root, true)));
    child.kill('SIGKILL');
  });
}

describe.runIf(posix)('§13 process trees: the root is known by what was recorded while it ran', () => {
  it('processInfo gives a process’s pid, group and start time, from /proc and from `ps` alike', async () => {
    const { report } = await startTree();
    const info = processInfo(report.pid)!;
    expect(info).toMatchObject({ pid: report.pid, pgid: report.pid, start: startOf(report.pid), zombie: false });
    expect(processInfo(report.pid, 'darwin')).toMatchObject({ pid: report.pid, pgid: report.pid, zombie: false });
  });

  it('never kills a process at the root’s pid whose start differs from the recorded root, nor its group', async () => {
    const stranger = await startStranger();
    const recorded = { ...processInfo(stranger.pid)!, start: 'an earlier process' };
    const result = await killProcessTree(stranger.pid, { root: recorded, timeoutMs: 2_000 });
    expect(result).toEqual({ killed: [], survivors: [] });
    expect([running(stranger.pid), running(stranger.member)]).toEqual([true, true]);
  });

  it('once the root is reaped, never takes what holds its pid for it — even with the same start', async () => {
    const stranger = await startStranger();
    const result = await killProcessTree(stranger.pid, { root: processInfo(stranger.pid)!, rootReaped: () => true, timeoutMs: 2_000 });
    expect(result).toEqual({ killed: [], survivors: [] });
    expect([running(stranger.pid), running(stranger.member)]).toEqual([true, true]);
  });

  it('once the root is reaped, still kills what it left in its process group, found through the members seen as it exited', async () => {
    const bystander = startBystander();
    const { child, report } = await startTree({ detached: true });
    const root = processInfo(report.pid)!;
    const atExit = await killAndWatchGroup(child, root);
    expect(atExit.map((p) => p.pid).sort()).toEqual([report.plain, report.nested].sort());
    const result = await killProcessTree(report.pid, { root, rootReaped: () => true, snapshot: atExit, timeoutMs: 10_000 });
    expect(result.killed.map((p) => p.pid).sort()).toEqual([report.plain, report.nested].sort());
    expect(result.survivors).toEqual([]);
    expect(await waitGone([report.plain, report.nested])).toEqual([]);
    // In a session of its own, it left the group: nothing leads to it once the root is gone.
    expect(running(report.detached)).toBe(true);
    expect(running(bystander.pid!)).toBe(true);
  });

  it('does not sweep a group of the root’s number in which none of the processes known to be ours is', async () => {
    const { child, report } = await startTree({ detached: true });
    const root = processInfo(report.pid)!;
    await killAndWatchGroup(child, root);
    // Nobody holds the pid, but without a known member in it the group could be one its next holder made and left.
    const result = await killProcessTree(report.pid, { root, rootReaped: () => true, timeoutMs: 2_000 });
    expect(result).toEqual({ killed: [], survivors: [] });
    expect([running(report.plain), running(report.nested)]).toEqual([true, true]);
  });

  it('processGroup lists the members of the leader’s group but not the leader, and nothing while another process may hold its pid', async () => {
    const stranger = await startStranger();
    const info = processInfo(stranger.pid)!;
    expect(processGroup(info, false).map((p) => p.pid)).toEqual([stranger.member]);
    expect(processGroup({ ...info, start: 'an earlier process' }, false)).toEqual([]);
    // Once the leader is reaped, whatever holds its pid is another process, even with the same start.
    expect(processGroup(info, true)).toEqual([]);
    // A process that does not lead its own group has no group of its own to list.
    expect(processGroup(processInfo(stranger.member)!, false)).toEqual([]);
  });
});

describe('§13 process trees: arguments', () => {
  it.each([0, -1, 1.5, Number.NaN, '12' as unknown as number])('refuses pid %s with ERR_DATASOCKET_INVALID_ARGUMENT', async (pid) => {
    expect(() => processTree(pid)).toThrow(DataSocketError);
    await expect(killProcessTree(pid)).rejects.toMatchObject({ code: ErrorCode.INVALID_ARGUMENT });
  });

  it('refuses a negative timeout', async () => {
    await expect(killProcessTree(process.pid, { timeoutMs: -1 })).rejects.toMatchObject({ code: ErrorCode.INVALID_ARGUMENT });
  });

  it('refuses a recorded root of another pid', async () => {
    const root = { pid: process.pid + 1, ppid: 1, pgid: process.pid + 1, start: '1', zombie: false };
    await expect(killProcessTree(process.pid, { root })).rejects.toMatchObject({ code: ErrorCode.INVALID_ARGUMENT });
  });
});
