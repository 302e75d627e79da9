import type { Socket } from 'socket.io';
import { describe, expect, it } from 'vitest';
import { AnswerHold } from './answer-hold.ts';

/** A socket on a WebSocket (or `transport`) whose TCP socket counts its corks. */
function fakeSocket(transport = 'websocket') {
  const tcp = { destroyed: false, corked: 0, uncorked: 0 };
  const socket = {
    conn: {
      transport: {
        name: transport,
        socket: {
          _socket: {
            get destroyed() {
              return tcp.destroyed;
            },
            cork: () => tcp.corked++,
            uncork: () => tcp.uncorked++,
          },
        },
      },
    },
  } as unknown as Socket;
  return { socket, tcp };
}

const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

/** A hold on a fake WebSocket connection, and its TCP socket's counts. */
function heldSocket() {
  const { socket, tcp } = fakeSocket();
  return { hold: new AnswerHold(socket), tcp };
}

describe('AnswerHold', () => {
  it('holds nothing while no push of the connection is in flight', () => {
    const { hold, tcp } = heldSocket();
    hold.beforeLiveMessage();
    hold.pushStarted();
    hold.pushSettled();
    hold.beforeLiveMessage();
    expect(tcp.corked).toBe(0);
  });

  it('holds the live messages written while a push is in flight until the answer, once', () => {
    const { hold, tcp } = heldSocket();
    hold.pushStarted();
    hold.beforeLiveMessage();
    hold.beforeLiveMessage();
    expect(tcp).toMatchObject({ corked: 1, uncorked: 0 });
    hold.pushSettled();
    hold.release();
    expect(tcp).toMatchObject({ corked: 1, uncorked: 1 });
    hold.release();
    expect(tcp.uncorked).toBe(1);
  });

  it('never holds past the next turn of the event loop, answered or not', async () => {
    const { hold, tcp } = heldSocket();
    hold.pushStarted();
    hold.beforeLiveMessage();
    await nextTurn();
    expect(tcp).toMatchObject({ corked: 1, uncorked: 1 });
    // Still in flight: the next message is held again, and let go again.
    hold.beforeLiveMessage();
    await nextTurn();
    expect(tcp).toMatchObject({ corked: 2, uncorked: 2 });
  });

  it('holds nothing on another transport, nor on a closed connection', () => {
    const polling = fakeSocket('polling');
    const onPolling = new AnswerHold(polling.socket);
    onPolling.pushStarted();
    onPolling.beforeLiveMessage();
    expect(polling.tcp.corked).toBe(0);
    const closed = fakeSocket();
    closed.tcp.destroyed = true;
    const onClosed = new AnswerHold(closed.socket);
    onClosed.pushStarted();
    onClosed.beforeLiveMessage();
    expect(closed.tcp.corked).toBe(0);
  });
});
