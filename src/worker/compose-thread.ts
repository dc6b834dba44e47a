import { parentPort } from 'node:worker_threads';
import { composeMail } from './compose.ts';
import type { WireJob } from './compose-pool.ts';

/** Template sources by number, as the pool sent them. */
const sources = new Map<number, string>();

/**
 * A compose thread: renders and composes the jobs it is sent and returns the bytes (transferred,
 * not copied back). Template errors come back as { code, message } so the worker can fail the
 * message; the thread itself never holds a job after answering.
 */
parentPort!.on('message', async ({ id, job, templates, sources: added, forget }: WireJob) => {
  try {
    if (forget) sources.clear();
    for (const [n, text] of added) sources.set(n, text);
    const [subject, html, text] = templates.map((n) => sources.get(n)!) as [string, string, string];
    const mail = await composeMail({ ...job, templates: { subject, html, text } });
    // A fresh buffer of its own: Buffers from the pool share memory that must not be transferred.
    const raw = new Uint8Array(mail.raw.byteLength);
    raw.set(mail.raw);
    parentPort!.postMessage({ id, raw, envelope: mail.envelope }, [raw.buffer]);
  } catch (e) {
    const err = e as { code?: string; message?: string };
    parentPort!.postMessage({ id, error: { code: err.code ?? 'INTERNAL_ERROR', message: String(err.message ?? e) } });
  }
});
