/**
 * Asking user code a yes/no question with a deadline: acceptors and policies.
 *
 * Runs in Node and in the page: no Node or DOM imports.
 */

/**
 * Asks `ask(arg)`: `true` or a Promise of `true` within `timeoutMs` is yes;
 * `false`, anything else, a throw, a rejection or the timeout is no.
 * `decide` is called exactly once.
 */
export function decideWithin<A>(ask: (arg: A) => unknown, arg: A, timeoutMs: number, decide: (yes: boolean) => void): void {
  let decided = false;
  const once = (yes: boolean): void => {
    if (decided) return;
    decided = true;
    clearTimeout(timer);
    decide(yes);
  };
  const timer = setTimeout(() => once(false), timeoutMs);
  let verdict: unknown;
  try {
    verdict = ask(arg);
  } catch {
    once(false);
    return;
  }
  if (verdict !== null && typeof verdict === 'object' && typeof (verdict as PromiseLike<unknown>).then === 'function') {
    Promise.resolve(verdict as PromiseLike<unknown>).then(
      (value) => once(value === true),
      () => once(false),
    );
  } else {
    once(verdict === true);
  }
}
