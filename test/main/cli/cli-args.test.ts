/**
 * The `datasocket` command line (SPEC §8), read without starting a process:
 * what each command accepts and which lines are usage errors (exit 2).
 */
import { describe, expect, it } from 'vitest';
import { parseCliArgs, UsageError, type CliCommand } from '../../../src/main/cli/cli-args.js';

function command(argv: string[], env: Record<string, string> = {}): CliCommand {
  const request = parseCliArgs(argv, env);
  if (request.kind !== 'run') throw new Error(`expected a command, got ${request.kind}`);
  return request.command;
}

describe('§8 commands and their arguments', () => {
  it('listen and connect take a name and an optional port', () => {
    expect(command(['listen', 'app'])).toMatchObject({ command: 'listen', name: 'app', port: undefined });
    expect(command(['listen', '0.0.0.0', '0'])).toMatchObject({ command: 'listen', name: '0.0.0.0', port: 0 });
    expect(command(['connect', 'example.org', '8080'])).toMatchObject({ command: 'connect', name: 'example.org', port: 8080 });
  });

  it('send takes its value last: two arguments are name and value, three are name, port and value', () => {
    expect(command(['send', 'app', '42'])).toMatchObject({ name: 'app', port: undefined, value: '42' });
    expect(command(['send', 'localhost', '7000', '{"a":1}'])).toMatchObject({ name: 'localhost', port: 7000, value: '{"a":1}' });
  });

  it('request takes its value last, as send does; --request-timeout says how long it waits for the reply', () => {
    expect(command(['request', 'app', '{"get":"status"}'])).toMatchObject({ command: 'request', name: 'app', port: undefined, value: '{"get":"status"}', requestTimeoutMs: undefined });
    expect(command(['request', 'localhost', '7000', '42', '--request-timeout', '250'])).toMatchObject({ name: 'localhost', port: 7000, value: '42', requestTimeoutMs: 250 });
    expect(command(['request', 'app', '--', '-1'])).toMatchObject({ value: '-1' });
    expect(command(['request', '127.0.0.1', '7000', '1', '--tls-insecure', '--timeout=99'])).toMatchObject({ tlsInsecure: true, timeoutMs: 99 });
  });

  it('--reply gives listen, connect and join the value they answer requests with; without it they echo', () => {
    expect(command(['listen', 'app', '--reply', '{"ok":true}'])).toMatchObject({ command: 'listen', reply: '{"ok":true}' });
    expect(command(['connect', 'app', '--reply=pong'])).toMatchObject({ command: 'connect', reply: 'pong' });
    expect(command(['join', 'app', '--reply', '1'])).toMatchObject({ command: 'join', reply: '1' });
    expect(command(['listen', 'app'])).toMatchObject({ reply: undefined });
    expect(command(['listen', 'app', '--reply=-1'])).toMatchObject({ reply: '-1' });
  });

  it('options may come anywhere, as --opt value or --opt=value', () => {
    expect(command(['--token', 's', 'connect', '--timeout=250', 'app', '--tls-insecure'])).toMatchObject({
      command: 'connect',
      name: 'app',
      token: 's',
      timeoutMs: 250,
      tlsInsecure: true,
    });
    expect(command(['listen', '--tls-cert', 'c.pem', 'app', '--tls-key=k.pem'])).toMatchObject({ tlsCert: 'c.pem', tlsKey: 'k.pem' });
    expect(command(['send', 'app', '--tls-ca', 'ca.pem', '1', '--tls'])).toMatchObject({ tlsCa: 'ca.pem', tls: true, value: '1' });
  });

  it("'--' ends the options, so a value may start with '-'", () => {
    expect(command(['send', 'app', '--', '-1'])).toMatchObject({ value: '-1' });
    expect(command(['send', 'app', '--', '--token'])).toMatchObject({ value: '--token', token: undefined });
  });

  it('DATASOCKET_TOKEN gives the token when --token does not; an empty one counts as unset', () => {
    expect(command(['connect', 'app'], { DATASOCKET_TOKEN: 'env' }).token).toBe('env');
    expect(command(['connect', 'app', '--token', 'flag'], { DATASOCKET_TOKEN: 'env' }).token).toBe('flag');
    expect(command(['connect', 'app'], { DATASOCKET_TOKEN: '' }).token).toBeUndefined();
  });

  it('--version or -v asks for the version', () => {
    expect(parseCliArgs(['--version'])).toEqual({ kind: 'version' });
    expect(parseCliArgs(['-v'])).toEqual({ kind: 'version' });
    expect(() => parseCliArgs(['--version=1'])).toThrow(/takes no value/);
  });

  it('--help or -h anywhere asks for the help, even with a command line that is otherwise incomplete', () => {
    expect(parseCliArgs(['--help'])).toEqual({ kind: 'help' });
    expect(parseCliArgs(['send', '-h'])).toEqual({ kind: 'help' });
  });
});

describe('join (connectOrListen from a terminal)', () => {
  it('takes a name and an optional port (1–65535: a member cannot elect on port 0), with failover on unless --no-failover', () => {
    const local = parseCliArgs(['join', 'app']);
    expect(local).toMatchObject({ kind: 'run', command: { command: 'join', name: 'app', port: undefined, failover: true } });
    expect(parseCliArgs(['join', '127.0.0.1', '7000', '--no-failover'])).toMatchObject({ command: { command: 'join', port: 7000, failover: false } });
    expect(() => parseCliArgs(['join', '127.0.0.1', '0'])).toThrow(/bad port '0': expected an integer from 1/);
  });

  it.each([['--tls'], ['--tls-insecure'], ['--tls-ca=ca.pem'], ['--tls-cert=c.pem', '--tls-key=k.pem']])('refuses TLS options (%s): a member is server and client in turn', (...options) => {
    expect(() => parseCliArgs(['join', 'app', ...options])).toThrow(/is not available with join/);
  });

  it('--no-failover belongs to join only', () => {
    expect(() => parseCliArgs(['listen', 'app', '--no-failover'])).toThrow(/'--no-failover' is for join/);
  });
});

describe('§8 usage errors', () => {
  it.each([
    [[], /missing command/],
    [['serve', 'app'], /unknown command 'serve'/],
    [['connect'], /missing <name>/],
    [['send'], /missing <name>/],
    [['send', 'app'], /missing <value>/],
    [['request'], /missing <name>/],
    [['request', 'app'], /missing <value> to request/],
    [['request', 'a', '1', 'x', 'y'], /too many arguments/],
    [['request', 'app', '1', '--reply', '2'], /'--reply' is for listen, connect and join/],
    [['send', 'app', '1', '--reply', '2'], /'--reply' is for listen, connect and join/],
    [['listen', 'app', '--request-timeout', '5'], /'--request-timeout' is for request/],
    [['connect', 'app', '--request-timeout', '5'], /'--request-timeout' is for request/],
    [['request', 'app', '1', '--request-timeout', 'soon'], /bad --request-timeout 'soon'/],
    [['request', 'app', '1', '--request-timeout', '0'], /bad --request-timeout '0'/],
    [['request', 'app', '1', '--request-timeout'], /'--request-timeout' needs a value/],
    [['listen', 'app', '--reply'], /'--reply' needs a value/],
    [['request', 'app', '1', '--tls-cert', 'c.pem', '--tls-key', 'k.pem'], /'--tls-cert' is for listen/],
    [['connect', 'a', '1', 'extra'], /too many arguments: 'extra'/],
    [['send', 'a', '1', 'x', 'y'], /too many arguments/],
    [['connect', 'app', '--bogus'], /unknown option '--bogus'/],
    [['send', 'app', '-1'], /unknown option '-1'.*after '--'/],
    [['connect', 'app', '--token'], /'--token' needs a value/],
    [['connect', 'app', '--token', '--tls'], /'--token' needs a value/],
    [['connect', 'app', '--tls=yes'], /'--tls' takes no value/],
    [['connect', 'host', 'http'], /bad port 'http'/],
    [['connect', 'host', '0'], /bad port '0'.*from 1 to 65535/],
    [['listen', 'host', '65536'], /bad port '65536'/],
    [['listen', 'host', '-1'], /unknown option '-1'/],
    [['listen', 'host', '8.5'], /bad port '8.5'/],
    [['connect', 'app', '--timeout', 'soon'], /bad --timeout 'soon'/],
    [['connect', 'app', '--timeout', '0'], /bad --timeout '0'/],
    [['connect', 'app', '--tls-cert', 'c.pem'], /'--tls-cert' is for listen/],
    [['listen', 'app', '--tls-ca', 'ca.pem'], /'--tls-ca' is for connect, send and request/],
    [['listen', 'app', '--tls-insecure'], /'--tls-insecure' is for connect, send and request/],
    [['listen', 'app', '--tls-cert', 'c.pem'], /'--tls-cert' and '--tls-key' go together/],
    [['connect', 'app', '--tls-ca', 'ca.pem', '--tls-insecure'], /either '--tls-ca' or '--tls-insecure'/],
  ])('%j', (argv, message) => {
    expect(() => parseCliArgs(argv)).toThrow(UsageError);
    expect(() => parseCliArgs(argv)).toThrow(message);
  });
});
