/**
 * The raw building block of the sync benchmarks, in a process of its own as the hub is: a bare
 * Socket.IO server (WebSocket, no persistence, no validation) that relays every `relay` message
 * to every other socket. Tells its parent the port it listens on.
 */
import { Server } from 'socket.io';

const io = new Server({ transports: ['websocket'], serveClient: false, maxHttpBufferSize: 5e6 });
io.on('connection', (socket) => {
  socket.on('relay', (payload: unknown) => {
    socket.broadcast.emit('relay', payload);
  });
});
const server = io.listen(0);
await new Promise<void>((resolve) =>
  server.httpServer.listening ? resolve() : server.httpServer.once('listening', () => resolve()),
);
const address = server.httpServer.address();
process.send!({ port: typeof address === 'object' && address !== null ? address.port : 0 });
process.on('disconnect', () => process.exit(0));
