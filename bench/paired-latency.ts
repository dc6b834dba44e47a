/**
 * Latency of two kinds of request side by side, run as its own process by bench/verify.ts so the
 * client does not share the server's event loop (nor feel work the server does after answering
 * on the client's clock). One keep-alive connection, one request at a time, the two kinds
 * interleaved in pairs in a random order, with a pause after each answer so that what one request
 * leaves for later (the writes of a sign-in link) is done before the next is sent.
 *
 * Input (argv[2], JSON): { port, file, pauseMs } — `file` holds one JSON line per request:
 * { kind, request } with `request` the raw HTTP/1.1 request.
 * Output (stdout, JSON): per kind, the latencies in ms and the statuses.
 */
import fs from 'node:fs';
import net from 'node:net';

interface Options {
  port: number;
  file: string;
  pauseMs: number;
}

const o = JSON.parse(process.argv[2]!) as Options;
const requests = fs
  .readFileSync(o.file, 'utf8')
  .split('\n')
  .filter(Boolean)
  .map((l) => JSON.parse(l) as { kind: string; request: string });

const socket = net.connect(o.port, '127.0.0.1');
socket.setNoDelay(true);
await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));

let buf: Buffer = Buffer.alloc(0);
let waiting: ((status: string) => void) | null = null;
socket.on('data', (chunk: Buffer) => {
  buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
  const head = buf.indexOf('\r\n\r\n');
  if (head < 0) return;
  const header = buf.subarray(0, head).toString('latin1');
  const length = Number(/\r\ncontent-length:\s*(\d+)/i.exec(header)?.[1] ?? 0);
  if (buf.length < head + 4 + length) return;
  buf = buf.subarray(head + 4 + length);
  waiting?.(header.slice(9, 12));
});

const out: Record<string, { ms: number[]; statuses: Record<string, number> }> = {};
for (const r of requests) {
  const bytes = Buffer.from(r.request);
  const t0 = performance.now();
  const status = await new Promise<string>((resolve) => {
    waiting = resolve;
    socket.write(bytes as Uint8Array);
  });
  const ms = performance.now() - t0;
  const k = (out[r.kind] ??= { ms: [], statuses: {} });
  k.ms.push(ms);
  k.statuses[status] = (k.statuses[status] ?? 0) + 1;
  await new Promise((resolve) => setTimeout(resolve, o.pauseMs));
}
socket.end();
process.stdout.write(JSON.stringify(out));
