/**
 * SPEC §13: each test its own namespace, each instance its own userData directory,
 * and both in the instance's environment — the parts of `test` that need no Playwright.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { maxSocketPathBytes, resolveTarget } from '../../src/main/socket/endpoint.js';
import { ErrorCode } from '../../src/shared/errors.js';
import { checkNamespace } from '../../src/shared/options.js';
import { instanceArgs, instanceEnv, instanceLabel, newNamespace, setEnv, userDataDirIn } from '../../src/testing/instance-env.js';

describe('§13 testing kit: namespaces', () => {
  it('makes a short, valid bare name that names the worker', () => {
    const namespace = newNamespace(12);
    expect(namespace).toMatch(/^pw12_[0-9a-f]{8}$/);
    expect(checkNamespace(namespace, 'test')).toBe(namespace);
  });

  it('makes a different one each time', () => {
    const made = new Set(Array.from({ length: 1000 }, () => newNamespace(0)));
    expect(made.size).toBe(1000);
  });

  it('leaves room in the socket path for a name of 60 characters', () => {
    const target = resolveTarget({ name: 'n'.repeat(60), port: undefined, namespace: newNamespace(999) });
    expect(target.kind === 'local' && target.path).toContain(`${path.sep}pw999_`);
    expect(Buffer.byteLength(target.kind === 'local' ? target.path : '')).toBeLessThanOrEqual(maxSocketPathBytes());
  });

  it('refuses a worker index that is not a whole number >= 0', () => {
    expect(() => newNamespace(-1)).toThrow(expect.objectContaining({ code: ErrorCode.INVALID_ARGUMENT }));
    expect(() => newNamespace(1.5)).toThrow(expect.objectContaining({ code: ErrorCode.INVALID_ARGUMENT }));
  });
});

describe('§13 testing kit: the environment of a test', () => {
  it('sets variables and puts back what was there, including absence', () => {
    const env: NodeJS.ProcessEnv = { KEEP: 'k', DATASOCKET_TRACE: '/before' };
    const restore = setEnv({ DATASOCKET_NAMESPACE: 'ns', DATASOCKET_TRACE: '/during', KEEP: undefined }, env);
    expect(env).toEqual({ DATASOCKET_NAMESPACE: 'ns', DATASOCKET_TRACE: '/during' });
    restore();
    expect(env).toEqual({ KEEP: 'k', DATASOCKET_TRACE: '/before' });
    expect('DATASOCKET_NAMESPACE' in env).toBe(false);
  });
});

describe('§13 testing kit: the environment of an instance', () => {
  const context = { namespace: 'pw0-00000000', traceDir: '/tmp/trace' };

  it('is the base environment plus the namespace and trace directory, without ELECTRON_RUN_AS_NODE', () => {
    const env = instanceEnv(context, {}, { PATH: '/bin', ELECTRON_RUN_AS_NODE: '1', UNSET: undefined, DATASOCKET_NAMESPACE: 'the-users-own' });
    expect(env).toEqual({ PATH: '/bin', DATASOCKET_NAMESPACE: 'pw0-00000000', DATASOCKET_TRACE: '/tmp/trace' });
  });

  it('lets the launch option `env` win, and remove a variable with undefined', () => {
    const env = instanceEnv(context, { DATASOCKET_TRACE: '/elsewhere', PATH: undefined, EXTRA: 'x' }, { PATH: '/bin' });
    expect(env).toEqual({ DATASOCKET_NAMESPACE: 'pw0-00000000', DATASOCKET_TRACE: '/elsewhere', EXTRA: 'x' });
  });

  it('defaults to this process’s environment', () => {
    expect(instanceEnv(context).PATH).toBe(process.env.PATH);
  });
});

describe('§13 testing kit: the userData directory of an instance', () => {
  it('is added as --user-data-dir after the given arguments', () => {
    expect(instanceArgs(['out/main/index.js', '--flag'], '/data/a')).toEqual(['out/main/index.js', '--flag', '--user-data-dir=/data/a']);
    expect(instanceArgs(undefined, '/data/a')).toEqual(['--user-data-dir=/data/a']);
  });

  it('goes before `--`, after which Chromium reads no switches', () => {
    expect(instanceArgs(['main.js', '--', 'file.txt'], '/d')).toEqual(['main.js', '--user-data-dir=/d', '--', 'file.txt']);
  });

  it('is the test’s own when the arguments already name one', () => {
    const args = ['main.js', '--user-data-dir=/mine'];
    expect(instanceArgs(args, '/d')).toEqual(args);
    expect(userDataDirIn(instanceArgs(args, '/d'))).toBe('/mine');
    expect(userDataDirIn(['--', '--user-data-dir=/not-a-switch'])).toBeUndefined();
  });

  it('does not change the given array', () => {
    const args = ['main.js'];
    instanceArgs(args, '/d');
    expect(args).toEqual(['main.js']);
  });
});

describe('§13 testing kit: instance labels', () => {
  it('numbers instances without a label', () => {
    expect(instanceLabel(undefined, 3)).toBe('instance-3');
  });

  it('keeps a label fit for a file name', () => {
    expect(instanceLabel('main window #1 / a', 1)).toBe('main-window--1---a');
    expect(instanceLabel('x'.repeat(100), 1)).toHaveLength(40);
  });

  it.each(['', 42, null])('refuses %j with ERR_DATASOCKET_INVALID_ARGUMENT', (label) => {
    expect(() => instanceLabel(label, 1)).toThrow(expect.objectContaining({ code: ErrorCode.INVALID_ARGUMENT }));
  });
});
