// The scripted demo of the README: two processes, each running the built
// `datasocket` CLI, talk over a local socket. One listens and prints what it
// receives; the other connects, sends a few values, and prints the answer.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const cli = path.join(root, 'dist/main/cli/cli.js');
const name = `demo-${process.pid}`;

function start(label, args) {
  const child = spawn(process.execPath, [cli, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  const lines = (stream, tag, each) => {
    let rest = '';
    stream.on('data', (chunk) => {
      rest += chunk;
      const parts = rest.split('\n');
      rest = parts.pop();
      for (const line of parts) {
        console.log(`${label} ${tag} ${line}`);
        each?.(line);
      }
    });
  };
  return { child, lines };
}

const listener = start('[listener]', ['listen', name]);
let client;
let answered = false;
listener.lines(listener.child.stdout, 'got', () => {
  if (answered) return;
  answered = true;
  // The listener answers every connection with one value of its own.
  listener.child.stdin.write('{"reply":"hello back","at":"listener"}\n');
});
listener.lines(listener.child.stderr, '..', (line) => {
  if (!line.startsWith('datasocket: listening') || client) return;
  client = start('[client]  ', ['connect', name]);
  client.lines(client.child.stderr, '..');
  client.lines(client.child.stdout, 'got', () => client.child.stdin.end());
  for (const value of ['{"hello":"world","n":[1,2,3]}', '"just a string"', '{"$binary":"AAEC/w==","type":"Uint8Array"}']) {
    console.log(`[client]   sends ${value}`);
    client.child.stdin.write(`${value}\n`);
  }
  client.child.on('exit', (code) => {
    console.log(`[client]   exited with ${code}`);
    listener.child.kill('SIGTERM');
  });
});
listener.child.on('exit', (code) => {
  console.log(`[listener] exited with ${code}`);
  process.exit(code ?? 1);
});
setTimeout(() => {
  console.error('demo: timed out');
  process.exit(1);
}, 20_000).unref();
