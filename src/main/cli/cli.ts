#!/usr/bin/env node
/**
 * The `datasocket` command (SPEC §8): listen, connect, send, request or join from
 * a terminal or a script, or read a trace directory back (trace, SPEC §13). Values
 * go out from stdin lines and come in as stdout lines, in the text form of
 * cli-json.ts; everything else (status, errors) goes to stderr, so stdout can be
 * piped straight into another program.
 */
import fs from 'node:fs';
import { DataSocketError, ErrorCode } from '../../shared/errors.js';
import { HELP, parseCliArgs, USAGE, UsageError, type CliCommand, type CliTrace } from './cli-args.js';
import { addressText, errorText, exit, printValue, readValues, status } from './cli-io.js';
import { parseValue } from './cli-json.js';
import { DataSocket, type ConnectOptions, type ListenOptions } from '../socket/data-socket.js';
import { formatTimeline, readTrace } from '../trace/trace-merge.js';
import type { RendezvousRole } from '../../shared/rendezvous.js';

/** A running command, as far as the process around it needs to know. */
interface Session {
  /** Closes gracefully (flushing what is queued); the session exits once closed. */
  stop(): void;
}

main(process.argv.slice(2));

function main(argv: string[]): void {
  // A bug must not end in a stack trace on a user's terminal: one line on stderr, exit 1.
  process.on('uncaughtException', (error) => fatal(`internal error: ${errorText(error)}`));
  process.on('unhandledRejection', (error) => fatal(`internal error: ${errorText(error)}`));

  let session: Session;
  try {
    const request = parseCliArgs(argv, process.env);
    if (request.kind === 'help') {
      process.stdout.write(HELP);
      exit(0);
      return;
    }
    if (request.kind === 'version') {
      process.stdout.write(`${packageVersion()}\n`);
      exit(0);
      return;
    }
    if (request.kind === 'trace') {
      printTrace(request.trace).then(() => exit(0), (error: unknown) => fatal(errorText(error)));
      return;
    }
    session = start(request.command);
  } catch (error) {
    if (error instanceof UsageError) usageError(error.message);
    else if (error instanceof DataSocketError && error.code === ErrorCode.INVALID_ARGUMENT) usageError(errorText(error));
    else fatal(errorText(error));
    return;
  }

  let signalled = false;
  const onSignal = (): void => {
    // A second Ctrl-C means: do not wait for the peers.
    if (signalled) {
      exit(1);
      return;
    }
    signalled = true;
    session.stop();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    // EPIPE: whoever read our output is gone (`| head -1`); that is an end, not a failure.
    if (error.code !== 'EPIPE') status(`cannot write to stdout: ${errorText(error)}`);
    session.stop();
  });
}

/** The version in the package's own package.json (dist/main/cli/cli.js → ../../../package.json). */
function packageVersion(): string {
  const manifest = JSON.parse(fs.readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version?: unknown };
  return typeof manifest.version === 'string' ? manifest.version : 'unknown';
}

function start(command: CliCommand): Session {
  const answer = answerer(command);
  switch (command.command) {
    case 'listen':
      return listen(command, listenOptions(command), answer);
    case 'connect':
      return connect(command, connectOptions(command), answer);
    case 'send':
      return send(command, connectOptions(command));
    case 'request':
      return request(command, connectOptions(command));
    case 'join':
      return join(command, answer);
  }
}

/** `trace`: the merged trace on stdout (a timeline, or JSON lines); what was skipped or missing on stderr. */
async function printTrace(trace: CliTrace): Promise<void> {
  // EPIPE: the reader stopped (`| head`); that ends the command, it is not a failure.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => (error.code === 'EPIPE' ? exit(0) : fatal(errorText(error))));
  const { entries, malformed, files } = await readTrace(trace.dir);
  if (files === 0) status(`no trace files (*.jsonl) in ${trace.dir}`);
  if (malformed > 0) status(`${malformed} ${malformed === 1 ? 'line was' : 'lines were'} not trace records and ${malformed === 1 ? 'was' : 'were'} skipped`);
  if (trace.json) process.stdout.write(entries.map((entry) => `${JSON.stringify(entry)}\n`).join(''));
  else process.stdout.write(formatTimeline(entries));
}

/** What listen, connect and join do with a request: print it like any value received, and answer it with --reply's value, else with its own. */
type Answer = (socket: DataSocket) => void;

function answerer(command: CliCommand): Answer {
  const reply = command.reply === undefined ? undefined : { value: parseValue(command.reply) };
  return (socket) => {
    socket.on('request', (value, respond) => {
      printValue(value);
      respond(reply === undefined ? value : reply.value);
    });
  };
}

/**
 * `join`: a member of a rendezvous. Prints role changes and what any link sends;
 * sends stdin to every open link (as leader: each follower; as follower: the leader).
 */
function join(command: CliCommand, answer: Answer): Session {
  const links = new Map<DataSocket, string>();
  const congested = new Set<DataSocket>();
  let failed = false;
  let stopping = false;
  let followers = 0;

  const finishIfDone = (): void => {
    if (stopping && member.role === 'closed' && links.size === 0) exit(failed ? 1 : 0);
  };
  const uncongest = (link: DataSocket): void => {
    if (congested.delete(link) && congested.size === 0) input.resume();
  };
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    member.close();
    for (const link of links.keys()) link.close();
    finishIfDone();
  };
  const describeRole = (role: RendezvousRole): string => {
    switch (role) {
      case 'leader':
        return `leading at ${addressText({ name: command.name, port: command.port })}`;
      case 'follower':
        return 'following';  // the link's address follows on its own line
      case 'electing':
        return 'the leader is gone: electing';
      case 'closed':
        return 'left';
    }
  };

  const member = DataSocket.connectOrListen(() => !stopping, command.name, command.port, { ...commonOptions(command), failover: command.failover });
  member
    .on('role', (role) => status(describeRole(role)))
    .on('connection', (link) => {
      const label = member.role === 'leader' ? `follower ${++followers}` : 'leader';
      links.set(link, label);
      status(member.role === 'leader' ? `${label} joined` : `linked to the leader at ${addressText(link.address)}`);
      answer(link);
      link
        .on('data', printValue)
        .on('drain', () => uncongest(link))
        .on('error', (error) => status(`${label}: ${errorText(error)}`))
        .on('close', () => {
          if (links.delete(link) && member.role === 'leader') status(`${label} left`);
          uncongest(link);
          // Without failover, the member ends with its link; close() is a no-op once it has.
          finishIfDone();
        });
    })
    .on('error', (error) => {
      failed = true;
      status(errorText(error));
    })
    .on('close', () => {
      stopping = true;
      for (const link of links.keys()) link.close();
      finishIfDone();
    });

  // stdin ending changes nothing: the member keeps printing what arrives.
  const input = readValues((value) => {
    let sent = 0;
    for (const [link, label] of links) {
      if (!link.active) continue;
      sent++;
      if (!sendValue(link, value, `${label}: `)) congested.add(link);
    }
    if (sent === 0) status('no open link: the line was not sent');
    if (congested.size > 0) input.pause();
  }, noop);
  return { stop };
}

/** `listen`: accept everyone, print what any connection sends, broadcast stdin. */
function listen(command: CliCommand, options: ListenOptions, answer: Answer): Session {
  const open = new Map<DataSocket, number>();
  // Connections whose queue passed the high-water mark; stdin waits until all drained.
  const congested = new Set<DataSocket>();
  let opened = 0;
  let failed = false;
  let stopping = false;

  const finishIfDone = (): void => {
    if (stopping && listener.state === 'closed' && open.size === 0) exit(failed ? 1 : 0);
  };
  const uncongest = (connection: DataSocket): void => {
    if (congested.delete(connection) && congested.size === 0) input.resume();
  };
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    listener.close();
    for (const connection of open.keys()) connection.close();
    finishIfDone();
  };
  const accept = (connection: DataSocket): boolean => {
    if (stopping) return false;
    let label = 'incoming connection';
    answer(connection);
    connection
      .on('connect', () => {
        const id = ++opened;
        label = `connection ${id}`;
        open.set(connection, id);
        const from = connection.address.port === undefined ? '' : ` from ${addressText(connection.address)}`;
        status(`${label} opened${from}`);
      })
      .on('data', printValue)
      .on('drain', () => uncongest(connection))
      .on('error', (error) => status(`${label}: ${errorText(error)}`))
      .on('close', () => {
        if (open.delete(connection)) status(`${label} closed`);
        uncongest(connection);
        finishIfDone();
      });
    return true;
  };

  const listener = DataSocket.listen(accept, command.name, command.port, options);
  listener
    .on('listening', () => status(`listening on ${addressText(listener.address)}`))
    // A connection that failed before it was accepted (a wrong or missing token, not a DataSocket, too slow).
    .on('clientError', (error) => status(`a connection failed its handshake: ${errorText(error)}`))
    .on('error', (error) => {
      failed = true;
      status(errorText(error));
      stop();
    })
    .on('close', finishIfDone);

  // stdin ending changes nothing: the listener keeps printing what arrives.
  const input = readValues((value) => {
    let sent = 0;
    for (const [connection, id] of open) {
      if (!connection.active) continue;
      sent++;
      if (!sendValue(connection, value, `connection ${id}: `)) congested.add(connection);
    }
    if (sent === 0) status('no open connection: the line was not sent');
    if (congested.size > 0) input.pause();
  }, noop);
  return { stop };
}

/** `connect`: print what arrives, send stdin; close when stdin ends. */
function connect(command: CliCommand, options: ConnectOptions, answer: Answer): Session {
  const socket = DataSocket.connect(command.name, command.port, options);
  answer(socket);
  let failed = false;
  const input = readValues(
    (value) => {
      // Lines still coming in while the connection closes have nowhere to go.
      if (socket.state === 'closing' || socket.state === 'closed') return;
      if (!sendValue(socket, value, '')) input.pause();
    },
    () => closeOnceConnected(socket),
  );
  socket
    .on('connect', () => status(`connected to ${addressText(socket.address)}`))
    .on('data', printValue)
    .on('drain', () => input.resume())
    .on('error', (error) => {
      failed = true;
      status(errorText(error));
    })
    .on('close', () => exit(failed ? 1 : 0));
  return { stop: () => socket.close() };
}

/** `send`: one value, then close; exit 0 only if it reached the OS and the close was clean. */
function send(command: CliCommand, options: ConnectOptions): Session {
  const value = parseValue(command.value!);
  const socket = DataSocket.connect(command.name, command.port, options);
  let failed = false;
  let sent = false;
  socket
    .on('sent', () => {
      sent = true;
      socket.close();
    })
    .on('error', (error) => {
      failed = true;
      status(errorText(error));
    })
    .on('close', () => {
      if (!failed && !sent) status('the connection closed before the value was sent');
      exit(sent && !failed ? 0 : 1);
    });
  socket.send(value);
  return { stop: () => socket.close() };
}

/**
 * `request`: one request; print the reply and exit 0 once closed. A request that
 * failed exits 1 with its code on stderr — a failed connection's own (ENOENT,
 * ERR_DATASOCKET_AUTH_FAILED…) rather than the ERR_DATASOCKET_CLOSED it caused.
 */
function request(command: CliCommand, options: ConnectOptions): Session {
  const value = parseValue(command.value!);
  const socket = DataSocket.connect(command.name, command.port, options);
  let socketError: unknown;
  let answered: boolean | undefined;
  let closed = false;
  // Both must be known before exiting: the reply printed or the failure said, and the connection closed.
  const finishIfDone = (): void => {
    if (closed && answered !== undefined) exit(answered ? 0 : 1);
  };
  socket
    .on('error', (error) => {
      socketError = error;
      status(errorText(error));
    })
    .on('close', () => {
      closed = true;
      finishIfDone();
    });
  socket.request(value, command.requestTimeoutMs === undefined ? undefined : { timeoutMs: command.requestTimeoutMs }).then(
    (reply) => {
      printValue(reply);
      answered = true;
      socket.close();
      finishIfDone();
    },
    (error: unknown) => {
      if (socketError === undefined || (error as { cause?: unknown }).cause !== socketError) status(errorText(error));
      answered = false;
      socket.close();
      finishIfDone();
    },
  );
  return { stop: () => socket.close() };
}

/**
 * close() before `connect` aborts and drops what is queued; input that ended
 * early (`echo 1 | datasocket connect app`) must still be delivered.
 */
function closeOnceConnected(socket: DataSocket): void {
  if (socket.state === 'connecting') socket.once('connect', () => socket.close());
  else socket.close();
}

/** Sends one value; false when the socket's queue is full and stdin should wait for `drain`. */
function sendValue(socket: DataSocket, value: unknown, label: string): boolean {
  try {
    return socket.send(value);
  } catch (error) {
    // Too large, or over maxBufferedBytes: this value is lost, the connection and later lines are not.
    status(`${label}not sent: ${errorText(error)}`);
    return true;
  }
}

function listenOptions(command: CliCommand): ListenOptions {
  const options: ListenOptions = commonOptions(command);
  if (command.tlsCert !== undefined && command.tlsKey !== undefined) {
    options.tls = { cert: readOptionFile(command.tlsCert, '--tls-cert'), key: readOptionFile(command.tlsKey, '--tls-key') };
  }
  return options;
}

function connectOptions(command: CliCommand): ConnectOptions {
  const options: ConnectOptions = commonOptions(command);
  if (command.tlsInsecure) {
    options.tls = { rejectUnauthorized: false };
    status("warning: --tls-insecure: the listener's certificate is not checked; use this for testing only");
  } else if (command.tlsCa !== undefined) {
    options.tls = { ca: readOptionFile(command.tlsCa, '--tls-ca') };
  } else if (command.tls) {
    options.tls = {};
  }
  return options;
}

function commonOptions(command: CliCommand): { token?: string; handshakeTimeoutMs?: number } {
  const options: { token?: string; handshakeTimeoutMs?: number } = {};
  if (command.token !== undefined) options.token = command.token;
  if (command.timeoutMs !== undefined) options.handshakeTimeoutMs = command.timeoutMs;
  return options;
}

function readOptionFile(file: string, option: string): Buffer {
  try {
    return fs.readFileSync(file);
  } catch (error) {
    throw new UsageError(`cannot read the ${option} file: ${errorText(error)}`);
  }
}

function usageError(message: string): void {
  process.stderr.write(`datasocket: ${message}\n${USAGE}`);
  exit(2);
}

function fatal(message: string): void {
  status(message);
  exit(1);
}

function noop(): void {}
