import { parentPort } from 'node:worker_threads';
import { composeMail } from './compose.ts';
import type { WireBatch, WireHello, WireResults } from './compose-pool.ts';
import { ownThreadId } from './thread-cpu.ts';

// No stack traces in this thread: its errors travel back as { code, message } only, and Node's
// stream.pipeline (inside nodemailer's composer) builds an AbortError with a captured stack at the
// end of every message, about 50 µs each, the largest single cost of composing.
Error.stackTraceLimit = 0;

// Who this thread is, so the pool can read its CPU time (a busy thread from a starved one).
parentPort!.postMessage({ tid: ownThreadId() } satisfies WireHello);

/** Template sources by number, as the pool sent them. */
const sources = new Map<number, string>();
/** Answers go back in groups of this many, so the first mails of a batch need not wait for all. */
const ANSWER_EVERY = 8;

/**
 * A compose thread: renders and composes the jobs it is sent and returns the bytes (transferred,
 * not copied back). Template errors come back as { code, message } so the worker can fail the
 * message; the thread itself never holds a job after answering.
 */
parentPort!.on('message', async ({ jobs, sources: added, forget }: WireBatch) => {
  if (forget) sources.clear();
  for (const [n, text] of added) sources.set(n, text);
  // Look the texts up before the first await: the next batch may arrive meanwhile and forget them.
  const full = jobs.map(({ id, job, templates: [s, h, t] }) => ({ id, job: { ...job, templates: { subject: sources.get(s)!, html: sources.get(h)!, text: sources.get(t)! } } }));
  let results: WireResults = [];
  let transfer: ArrayBuffer[] = [];
  for (const [i, { id, job }] of full.entries()) {
    try {
      const mail = await composeMail(job);
      // Transferred, so it must own its memory: a message over 4 KiB already does (Buffer.concat
      // allocates it outside Node's shared pool); a smaller one is copied first.
      const owns = mail.raw.byteOffset === 0 && mail.raw.byteLength === mail.raw.buffer.byteLength;
      const raw = owns ? mail.raw : new Uint8Array(mail.raw);
      results.push({ id, raw, envelope: mail.envelope });
      transfer.push(raw.buffer as ArrayBuffer);
    } catch (e) {
      const err = e as { code?: string; message?: string };
      results.push({ id, error: { code: err.code ?? 'INTERNAL_ERROR', message: String(err.message ?? e) } });
    }
    if (results.length >= ANSWER_EVERY || i === jobs.length - 1) {
      parentPort!.postMessage(results, transfer);
      results = [];
      transfer = [];
    }
  }
});
