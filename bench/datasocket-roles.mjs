/**
 * The bench roles for any DataSocket class with the API of SPEC §2: the Node
 * one (bench/datasocket.mjs) and the page's one behind the Electron bridge's
 * host (bench/relay.mjs). Default options, the way the README shows them.
 * One-way: the receiver listens and counts `data` events; the sender sends until
 * `send()` returns false, then waits for `drain`. Round trip: the echo side sends
 * back each value it gets. Requests: the responder answers each request with its
 * value (and echoes values); the requester times requests and send/echo round trips in
 * turn, or keeps `inFlight` requests waiting (counted).
 */
import { createFlight, createPinger, createReceiver, fail, job, pump, ready } from './common.mjs';

/**
 * Plays this job's role with `DataSocket`. `listenOptions`: the listener's options
 * (bench/datasocket.mjs gives a `schema` when the job asks for one).
 */
export function playRole(DataSocket, listenOptions) {
  const { endpoint } = job;

  const listen = (onConnection) => {
    const accept = (connection) => {
      connection.on('error', fail);
      onConnection(connection);
      return true;
    };
    const listener = endpoint.path ? DataSocket.listen(accept, endpoint.path, listenOptions) : DataSocket.listen(accept, endpoint.host, endpoint.port, listenOptions);
    listener.on('error', fail);
    listener.on('listening', () => ready(endpoint.path ? { path: endpoint.path } : { host: endpoint.host, port: listener.address.port }));
  };

  const connect = (onConnect) => {
    const socket = endpoint.path ? DataSocket.connect(endpoint.path) : DataSocket.connect(endpoint.host, endpoint.port);
    socket.on('error', fail);
    socket.on('connect', () => onConnect(socket));
    return socket;
  };

  switch (job.role) {
    case 'receiver': {
      const onValue = createReceiver();
      listen((connection) => connection.on('data', onValue));
      break;
    }
    case 'sender':
      connect((socket) =>
        pump(
          (value) => socket.send(value),
          (resume) => socket.once('drain', resume),
        ),
      );
      break;
    case 'echo':
      listen((connection) => connection.on('data', (value) => connection.send(value)));
      break;
    case 'pinger': {
      const socket = connect(() => pinger.start());
      const pinger = createPinger((value) => socket.send(value));
      socket.on('data', pinger.onReply);
      break;
    }
    case 'responder':
      listen((connection) => {
        connection.on('data', (value) => connection.send(value));
        connection.on('request', (value, respond) => respond(value));
      });
      break;
    case 'requester': {
      if (job.figure === 'inflight') {
        const flight = createFlight((value) => socket.request(value));
        const socket = connect(() => flight.start());
      } else {
        // A request and a send/echo in turn on this one connection (see createPinger).
        const pinger = createPinger(
          (value) => socket.send(value),
          (value) => socket.request(value).then(pinger.onReply, fail),
        );
        const socket = connect(() => pinger.start());
        socket.on('data', pinger.onReply);
      }
      break;
    }
    default:
      fail(new Error(`unknown role ${job.role}`));
  }
}
