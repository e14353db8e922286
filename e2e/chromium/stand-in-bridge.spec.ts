/**
 * The contextBridge stand-in keeps Electron's rules for what crosses and how it fails
 * (shell/renderer/api/electron_api_context_bridge.cc, docs/api/context-bridge.md):
 * errors keep only their message, nesting stops at Electron's depth, executeInMainWorld
 * checks its script as Electron does and compiles `func` alone in the main world, and
 * the kinds V8 will not serialize do not cross. On a lab page (helpers/lab.ts).
 */
import { expect } from '@playwright/test';
// The suite's `test` is the testing kit's: helpers/app-pages.ts registers hooks that use its fixtures.
import { test } from '../../src/testing/index.js';
import { useLab, type IsolatedGlobal, type MainGlobal } from './helpers/lab.js';

test.describe('the stand-in: contextBridge errors, depth and script checks are as in Electron', () => {
  const lab = useLab();

  test('an Error crossing as a value becomes a new plain Error of the target realm with only its message: class, name, cause and own properties are lost, both ways', async () => {
    const seen = await lab.isolated.evaluate(() => {
      const g = globalThis as unknown as IsolatedGlobal;
      const describe = (error: Error, realm: { Error: ErrorConstructor }) => ({
        plain: Object.getPrototypeOf(error) === realm.Error.prototype,
        name: error.name,
        message: error.message,
        cause: 'cause' in error,
        own: Object.keys(error),
        frozen: Object.isFrozen(error),
      });
      const custom = Object.assign(new RangeError('to main', { cause: new Error('inner') }), { code: 'E_CODE', detail: { a: 1 } });
      custom.name = 'CustomError';
      const result = g.__lab.contextBridge.executeInMainWorld({
        func: (error: Error) => {
          const e = error;
          const toMain = { plain: Object.getPrototypeOf(e) === Error.prototype, name: e.name, message: e.message, cause: 'cause' in e, own: Object.keys(e), frozen: Object.isFrozen(e) };
          const back = Object.assign(new TypeError('to the isolated realm', { cause: 'c' }), { code: 'E_BACK' });
          return { toMain, back, nested: { list: [new SyntaxError('nested')] } };
        },
        args: [custom],
      }) as { toMain: unknown; back: Error; nested: { list: Error[] } };
      return { toMain: result.toMain, back: describe(result.back, { Error }), nested: describe(result.nested.list[0]!, { Error }) };
    });
    const plain = (message: string) => ({ plain: true, name: 'Error', message, cause: false, own: [], frozen: false });
    expect(seen).toEqual({ toMain: plain('to main'), back: plain('to the isolated realm'), nested: plain('nested') });
  });

  test('nesting stops at 1000 levels as Electron counts them (an array one level, an object two): 999 arrays or 499 objects cross, one more throws', async () => {
    const seen = await lab.isolated.evaluate(() => {
      const { executeInMainWorld } = (globalThis as unknown as IsolatedGlobal).__lab.contextBridge;
      const arrays = (levels: number): unknown => {
        let value: unknown = 'leaf';
        for (let i = 0; i < levels; i++) value = [value];
        return value;
      };
      const objects = (levels: number): unknown => {
        let value: unknown = 'leaf';
        for (let i = 0; i < levels; i++) value = { v: value };
        return value;
      };
      const attempt = (value: unknown): string => {
        try {
          // The main world counts the levels that arrived, so a copy that lost some cannot pass.
          const depthInMain = executeInMainWorld({
            func: (v: unknown) => {
              let depth = 0;
              for (let x = v; typeof x === 'object' && x !== null; x = Array.isArray(x) ? x[0] : (x as { v: unknown }).v) depth++;
              return depth;
            },
            args: [value],
          });
          return String(depthInMain);
        } catch (error) {
          return (error as Error).message;
        }
      };
      // Through a wrapper, main's caller gets the depth error itself.
      const throughWrapper = executeInMainWorld({
        func: (take: (v: unknown) => void) => {
          let value: unknown = 'leaf';
          for (let i = 0; i < 1000; i++) value = [value];
          try {
            take(value);
            return 'crossed';
          } catch (error) {
            return `${(error as Error).name}: ${(error as Error).message}`;
          }
        },
        args: [() => undefined],
      });
      return { arrays999: attempt(arrays(999)), arrays1000: attempt(arrays(1000)), objects499: attempt(objects(499)), objects500: attempt(objects(500)), throughWrapper };
    });
    expect(seen.arrays999).toBe('999');
    expect(seen.objects499).toBe('499');
    expect(seen.arrays1000).toMatch(/^Failed to proxy argument at index 0 .*Electron contextBridge recursion depth exceeded/);
    expect(seen.objects500).toMatch(/^Failed to proxy argument at index 0 .*Electron contextBridge recursion depth exceeded/);
    expect(seen.throughWrapper).toMatch(/^TypeError: .*Electron contextBridge recursion depth exceeded/);
  });

  test("executeInMainWorld checks its script as Electron does: an object, a function 'func', 'args' an array whenever it is there", async () => {
    const seen = await lab.isolated.evaluate(() => {
      const bridge = (globalThis as unknown as IsolatedGlobal).__lab.contextBridge as unknown as { executeInMainWorld(script?: unknown): unknown };
      const attempt = (script: unknown, call = (): unknown => bridge.executeInMainWorld(script)): string => {
        try {
          return `returned ${JSON.stringify(call())}`;
        } catch (error) {
          return `${(error as Error).name}: ${(error as Error).message}`;
        }
      };
      const func = (...args: unknown[]) => args.length;
      return {
        none: attempt(undefined, () => bridge.executeInMainWorld()),
        notAnObject: attempt('func'),
        noFunc: attempt({ args: [] }),
        funcNotAFunction: attempt({ func: 'x => x' }),
        argsUndefined: attempt({ func, args: undefined }),
        argsNotAnArray: attempt({ func, args: { length: 1, 0: 'a' } }),
        noArgs: attempt({ func }),
        twoArgs: attempt({ func, args: [1, 2] }),
      };
    });
    expect(seen).toEqual({
      none: "TypeError: Function 'func' is required in script",
      notAnObject: 'TypeError: Invalid script',
      noFunc: "TypeError: Function 'func' is required in script",
      funcNotAFunction: "TypeError: Function 'func' is required in script",
      argsUndefined: "TypeError: 'args' must be an array",
      argsNotAnArray: "TypeError: 'args' must be an array",
      noArgs: 'returned 0',
      twoArgs: 'returned 2',
    });
  });

  test("func is compiled alone in the main world: one calling a module-level helper of the preload's bundle, or a class field a bundler lowered with __publicField, throws there", async () => {
    const seen = await lab.isolated.evaluate(() => {
      const g = globalThis as unknown as IsolatedGlobal;
      const { executeInMainWorld } = g.__lab.contextBridge;
      const attempt = (func: (...args: never[]) => unknown): string => {
        try {
          return `returned ${String(executeInMainWorld({ func, args: [2] }))}`;
        } catch (error) {
          return `${(error as Error).name}: ${(error as Error).message}`;
        }
      };
      return {
        // In the preload itself, where they were bundled, all three work.
        inPreload: [g.__lab.usesHelper(2 as never), g.__lab.makesPoint(), g.__lab.selfContained(2 as never)],
        usesHelper: attempt(g.__lab.usesHelper),
        makesPoint: attempt(g.__lab.makesPoint),
        selfContained: attempt(g.__lab.selfContained),
      };
    });
    expect(seen).toEqual({
      inPreload: [4, 1, 4],
      usesHelper: 'Error: ReferenceError: double is not defined',
      makesPoint: 'Error: ReferenceError: __publicField is not defined',
      selfContained: 'returned 4',
    });
  });

  test('what V8 will not serialize does not cross (a WeakMap, a generator, a Map iterator); boxed primitives cross as boxed primitives of the target realm', async () => {
    const seen = await lab.isolated.evaluate(() => {
      const { executeInMainWorld } = (globalThis as unknown as IsolatedGlobal).__lab.contextBridge;
      const attempt = (value: unknown): string => {
        try {
          executeInMainWorld({ func: (v: unknown) => { (globalThis as unknown as MainGlobal).__crossed = v; }, args: [value] });
          return 'crossed';
        } catch (error) {
          return (error as Error).message.startsWith('Failed to proxy argument at index 0') ? 'refused' : (error as Error).message;
        }
      };
      function* generator(): Generator<number> {
        yield 1;
      }
      const boxed = executeInMainWorld({
        func: (n: unknown, s: unknown) => [n instanceof Number, Number(n), s instanceof String, String(s), Object.isFrozen(n)],
        args: [Object(5), Object('ab')],
      });
      return {
        weakMap: attempt(new WeakMap()),
        weakSet: attempt(new WeakSet()),
        generator: attempt(generator()),
        mapIterator: attempt(new Map([[1, 2]]).keys()),
        boxed,
      };
    });
    expect(seen).toEqual({ weakMap: 'refused', weakSet: 'refused', generator: 'refused', mapIterator: 'refused', boxed: [true, 5, true, 'ab', false] });
  });
});
