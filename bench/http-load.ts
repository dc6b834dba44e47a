/**
 * A small closed-loop HTTP/1.1 load generator, run as its own process by bench/verify.ts so the
 * load does not share the server's event loop: C keep-alive connections, each sending one request
 * and waiting for the whole answer before the next (like autocannon without pipelining). Requests
 * are written and answers parsed by hand on raw sockets, which costs far less CPU than fetch.
 *
 * Input (argv[2], JSON): { port, token, bodiesFile (one body a line), connections, seconds, warmupSeconds, path },
 * and for a run that sends each body exactly once (bench/scim.ts's creates): once, contentType,
 * idField (the answer's JSON field whose value is kept for each body, in order).
 * Output (stdout, JSON): requests, seconds, statuses, latency percentiles in ms; ids with idField.
 */
import fs from 'node:fs';
import net from 'node:net';

interface Options {
  port: number;
  token: string;
  bodiesFile: string;
  connections: number;
  seconds: number;
  warmupSeconds: number;
  path: string;
  once?: boolean;
  contentType?: string;
  idField?: string;
}

const o = JSON.parse(process.argv[2]!) as Options;
const bodies = fs.readFileSync(o.bodiesFile, 'utf8').split('\n').filter(Boolean);
const requests = bodies.map((b) =>
  Buffer.from(`POST ${o.path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${o.token}\r\nContent-Type: ${o.contentType ?? 'application/json'}\r\nContent-Length: ${Buffer.byteLength(b)}\r\n\r\n${b}`),
);

const latencies: number[] = [];
const ids: string[] = new Array<string>(o.once ? requests.length : 0).fill('');
const idPattern = o.idField ? new RegExp(`"${o.idField}":"([^"]*)"`) : null;
const statuses: Record<string, number> = {};
let next = 0;
let measuring = false;
let stopping = false;

function connection(): Promise<void> {
  return new Promise((resolve) => {
    const socket = net.connect(o.port, '127.0.0.1');
    socket.setNoDelay(true);
    let buf: Buffer = Buffer.alloc(0);
    let sentAt = 0;
    let sent = 0;
    const send = () => {
      if (stopping || (o.once && next >= requests.length)) {
        socket.end();
        return resolve();
      }
      sentAt = performance.now();
      sent = next++;
      socket.write(requests[sent % requests.length]! as Uint8Array);
    };
    socket.on('connect', send);
    socket.on('data', (chunk: Buffer) => {
      buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
      const head = buf.indexOf('\r\n\r\n');
      if (head < 0) return;
      const header = buf.subarray(0, head).toString('latin1');
      const length = Number(/\r\ncontent-length:\s*(\d+)/i.exec(header)?.[1] ?? 0);
      if (buf.length < head + 4 + length) return;
      if (idPattern) ids[sent] = idPattern.exec(buf.subarray(head + 4, head + 4 + length).toString('utf8'))?.[1] ?? '';
      buf = buf.subarray(head + 4 + length);
      if (measuring) {
        latencies.push(performance.now() - sentAt);
        const status = header.slice(9, 12);
        statuses[status] = (statuses[status] ?? 0) + 1;
      }
      send();
    });
    socket.on('error', (e) => {
      statuses[`error ${(e as NodeJS.ErrnoException).code}`] = (statuses[`error ${(e as NodeJS.ErrnoException).code}`] ?? 0) + 1;
      resolve();
    });
  });
}

let seconds: number;
if (o.once) {
  measuring = true;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: o.connections }, connection));
  seconds = (performance.now() - t0) / 1000;
} else {
  const all = Array.from({ length: o.connections }, connection);
  await new Promise((r) => setTimeout(r, o.warmupSeconds * 1000));
  measuring = true;
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, o.seconds * 1000));
  measuring = false;
  seconds = (performance.now() - t0) / 1000;
  stopping = true;
  await Promise.all(all);
}
const sorted = Float64Array.from(latencies).sort();
const pct = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
process.stdout.write(
  JSON.stringify({ requests: latencies.length, seconds, statuses, p50: pct(50), p90: pct(90), p99: pct(99), max: sorted[sorted.length - 1] ?? 0, ...(o.idField ? { ids } : {}) }),
);
