/**
 * The SMTP sink of `npm run bench -- mail`, run in its own process: the `smtp-server` package
 * on 127.0.0.1 (port 0) with its 100 ms greeting delay off, accepting and counting every message
 * (and distinct Message-IDs). Talks to the bench over IPC: { port } at start, { count } on request.
 */
import { SMTPServer } from 'smtp-server';
import { SMTPConnection } from 'smtp-server/lib/smtp-connection.js';

(SMTPConnection.prototype as unknown as { init(): void }).init = function (this: { _setListeners(cb: () => void): void; connectionReady(): void }) {
  this._setListeners(() => this.connectionReady());
};

let count = 0;
const ids = new Set<string>();
const server = new SMTPServer({
  logger: false,
  disableReverseLookup: true,
  authOptional: true,
  disabledCommands: ['STARTTLS'],
  maxClients: 1000,
  onData(stream, _session, cb) {
    let head = '';
    stream.on('data', (c: Buffer) => {
      if (head.length < 4096) head += c.toString('latin1');
    });
    stream.on('end', () => {
      count++;
      const id = /^Message-ID:\s*(<[^>]+>)/im.exec(head)?.[1];
      if (id) ids.add(id);
      cb(null, `2.0.0 Ok: queued as ${count}`);
    });
  },
});
server.on('error', () => {});
server.listen(0, '127.0.0.1', () => process.send!({ port: (server.server.address() as { port: number }).port }));
process.on('message', () => {
  const cpu = process.cpuUsage();
  process.send!({ count, distinct: ids.size, cpuMs: (cpu.user + cpu.system) / 1000, rssMb: process.memoryUsage().rss / 2 ** 20 });
});
process.on('disconnect', () => process.exit(0));
