/**
 * A child process for the bounded-memory export test: serves the API over the database file
 * given in argv[2], tells its parent the port, and answers `rss` messages with its resident
 * set size, so the parent can watch the server's memory from outside while it streams.
 */
import http from 'node:http';
import { createApp } from '../../../src/api/app.js';
import { openDatabase } from '../../../src/store/db.js';
import { Store } from '../../../src/store/store.js';

const db = openDatabase(process.argv[2]!);
const server = http.createServer(createApp({ store: new Store(db), logError: (err) => console.error(err) }));
server.listen(0, '127.0.0.1', () => {
  process.send!({ port: (server.address() as { port: number }).port });
});
process.on('message', (m: unknown) => {
  if (m === 'rss') process.send!({ rss: process.memoryUsage().rss });
  if (m === 'stop') server.close(() => { db.close(); process.exit(0); });
});
process.on('disconnect', () => process.exit(0));
