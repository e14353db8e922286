/**
 * SPEC §13 `test`: a real Playwright run of a small project that uses it
 * (test/fixtures/kit-playwright), two workers, read back from its JSON report.
 * `launchInstance` is run up to where Electron would start (no Electron binary here):
 * the rest of it — the end of every instance's process tree — is tested in
 * instances.test.ts with Node processes standing in for the app.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/sockets.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

interface Attachment {
  name: string;
  contentType: string;
  body?: string;
}
interface Result {
  /** Playwright's verdict: 'expected', 'unexpected', 'skipped', 'flaky'. */
  verdict: string;
  /** How the run went: 'passed', 'failed', 'timedOut'… */
  status: string;
  attachments: Attachment[];
}

const dirs = { run: '', barrier: '', after: '', report: '' };
const results = new Map<string, Result>();
let output = '';

/** An attachment's body as text (the JSON report has it in base64). */
function body(result: Result | undefined, name: string): string | undefined {
  const attachment = result?.attachments.find((a) => a.name === name);
  return attachment?.body === undefined ? undefined : Buffer.from(attachment.body, 'base64').toString('utf8');
}

function result(title: string): Result {
  const found = results.get(title);
  if (found === undefined) throw new Error(`no test '${title}' in the report; the run said:\n${output}`);
  return found;
}

interface Suite {
  specs?: { title: string; tests: { status: string; results: { status: string; attachments: Attachment[] }[] }[] }[];
  suites?: Suite[];
}

function collect(suite: Suite): void {
  for (const spec of suite.specs ?? []) {
    const test = spec.tests[0]!;
    const last = test.results[test.results.length - 1]!;
    results.set(spec.title, { verdict: test.status, status: last.status, attachments: last.attachments });
  }
  for (const child of suite.suites ?? []) collect(child);
}

beforeAll(async () => {
  dirs.run = tempDir('kit-pw-');
  dirs.barrier = path.join(dirs.run, 'barrier');
  dirs.after = path.join(dirs.run, 'after');
  dirs.report = path.join(dirs.run, 'report.json');
  fs.mkdirSync(dirs.barrier);
  fs.mkdirSync(dirs.after);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    KIT_BARRIER: dirs.barrier,
    KIT_AFTER: dirs.after,
    KIT_OUTPUT: path.join(dirs.run, 'out'),
    KIT_REPORT: dirs.report,
    XDG_RUNTIME_DIR: dirs.run,
    // Left over from a parent that ran Electron as Node: launchInstance must not pass it on.
    ELECTRON_RUN_AS_NODE: '1',
  };
  for (const key of Object.keys(env)) if (key.startsWith('VITEST') || key.startsWith('DATASOCKET_')) delete env[key];
  const cli = path.join(root, 'node_modules/@playwright/test/cli.js');
  const config = path.join(root, 'test/fixtures/kit-playwright/playwright.config.ts');
  // One test fails on purpose, so the run exits with 1; the report says the rest.
  output = await new Promise<string>((resolve) => {
    execFile(process.execPath, [cli, 'test', '-c', config], { cwd: root, env, timeout: 170_000 }, (error, stdout, stderr) =>
      resolve(`${error?.message ?? ''}\n${stdout}\n${stderr}`),
    );
  });
  if (!fs.existsSync(dirs.report)) throw new Error(`the Playwright run wrote no report:\n${output}`);
  const report = JSON.parse(fs.readFileSync(dirs.report, 'utf8')) as { suites: Suite[]; errors: unknown[] };
  expect(report.errors, output).toEqual([]);
  for (const suite of report.suites) collect(suite);
}, 180_000);

afterAll(() => {
  fs.rmSync(dirs.run, { recursive: true, force: true });
});

describe('§13 test: datasocketNamespace', () => {
  it('gives two tests running at once in two workers different namespaces, each set in its worker’s environment', () => {
    const seen = ['parallel first', 'parallel second'].map((title) => {
      expect(result(title).status, output).toBe('passed');
      return JSON.parse(body(result(title), 'kit-result')!);
    });
    const [a, b] = seen;
    expect(a.namespace).toMatch(/^pw\d+_[0-9a-f]{8}$/);
    expect(b.namespace).toMatch(/^pw\d+_[0-9a-f]{8}$/);
    expect(a.namespace).not.toBe(b.namespace);
    expect(a.workerIndex).not.toBe(b.workerIndex);
    for (const s of seen) {
      expect(s.envNamespace).toBe(s.namespace);
      expect(s.envTrace).toBe(s.traceDir);
    }
  });

  it('puts the test’s probe inside the namespace, and a process the test starts meets it there', () => {
    for (const title of ['parallel first', 'parallel second']) {
      const s = JSON.parse(body(result(title), 'kit-result')!);
      expect(s.socketPath).toBe(path.join(dirs.run, 'datasocket', s.namespace, 'kit-same-name.sock'));
      expect(s.fromChild.namespace).toBe(s.namespace);
    }
  });

  it('removes each test’s namespace directory after it, with the socket file a killed process left in it', () => {
    const leftover = result('a killed listener leaves its socket file in the namespace');
    expect(leftover.status, output).toBe('passed');
    const socketPath = body(leftover, 'kit-leftover')!;
    expect(socketPath.startsWith(path.join(dirs.run, 'datasocket'))).toBe(true);
    expect(fs.existsSync(path.dirname(socketPath))).toBe(false);
    // Nor any other test's: all of them used sockets in their namespaces.
    expect(fs.readdirSync(path.join(dirs.run, 'datasocket'))).toEqual([]);
  });

  it('closes the probes a test left open, after it', () => {
    expect(result('leaves a listening probe open').status, output).toBe('passed');
    expect(result('listens where its predecessor left a probe listening').status, output).toBe('passed');
  });

  it('puts the environment back after each test', () => {
    const files = fs.readdirSync(dirs.after);
    expect(files.length).toBeGreaterThan(0);
    for (const file of files) expect(JSON.parse(fs.readFileSync(path.join(dirs.after, file), 'utf8'))).toEqual({ namespace: null, trace: null });
  });
});

describe('§13 test: the trace in the report', () => {
  it('attaches the merged trace of the test’s processes to a failed test', () => {
    const failed = result('fails after socket traffic');
    expect(failed.verdict).toBe('unexpected');
    const timeline = body(failed, 'datasocket-trace')!;
    expect(timeline).toContain('kit-fail.sock');
    expect(timeline).toMatch(/listening/);
    const lines = body(failed, 'datasocket-trace.jsonl')!.trimEnd().split('\n').map((line) => JSON.parse(line) as { pid: number });
    // The worker (the probe) and the process the test started (the sender), merged.
    expect(new Set(lines.map((l) => l.pid)).size).toBe(2);
  });

  it('attaches it to a test that timed out, too', () => {
    const timedOut = result('times out after socket traffic');
    expect(timedOut.status).toBe('timedOut');
    expect(body(timedOut, 'datasocket-trace')).toContain('kit-timeout.sock');
  });

  it('attaches nothing to a passed test, nor to one that failed as expected, though both traced', () => {
    for (const title of ['passes after socket traffic', 'fails as expected after socket traffic']) {
      const r = result(title);
      expect(r.verdict).toBe('expected');
      expect(r.attachments.map((a) => a.name).filter((name) => name.startsWith('datasocket-trace'))).toEqual([]);
      const traceDir = body(r, 'kit-trace-dir')!;
      expect(fs.readdirSync(traceDir).filter((f) => f.endsWith('.jsonl')).length).toBeGreaterThan(0);
    }
  });
});

describe.runIf(process.platform !== 'win32')('§13 test: launchInstance, up to Electron', () => {
  it('starts the executable with the namespace, the trace, its own userData and no ELECTRON_RUN_AS_NODE', () => {
    expect(result('launchInstance runs the app with the namespace, the trace and its own userData').status, output).toBe('passed');
  });
});
