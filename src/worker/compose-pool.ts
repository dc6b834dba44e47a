import { Worker } from 'node:worker_threads';
import { AppError, ERROR_CODES, type ErrorCode } from '../core/errors.ts';
import { composeMail, type ComposeJob, type ComposedMail } from './compose.ts';
import { THREAD_CPU_MEASURABLE, threadCpuMs } from './thread-cpu.ts';
import { threadBoot } from '../adapters/thread-boot.ts';

/** Renders and composes mail, in the worker's own thread or in a pool of threads. */
export interface Composer {
  compose(job: ComposeJob): Promise<ComposedMail>;
  close(): Promise<void>;
}

/** Thrown when a thread had to be stopped (hard timeout or crash): the message is tried again later. */
export class ComposeInterrupted extends Error {}

/**
 * Thrown when a job waited long without getting the CPU to finish (a loaded machine, not the
 * message): the message goes back to the queue without counting an attempt; the thread lives on.
 */
export class ComposeStarved extends Error {}

/**
 * `settled`: the caller was already told (starved); the job is still watched so a runaway is
 * stopped once it has really used its CPU budget, and its late answer is dropped.
 */
type Pending = { resolve: (m: ComposedMail) => void; reject: (e: Error) => void; timer: NodeJS.Timeout | undefined; postedAt: number; cpuAtPost: number; settled: boolean };
/**
 * `known`: the template sources this thread holds (sent once, then named by number);
 * `batch`: the jobs of the current tick, posted together (a postMessage costs tens of µs).
 */
type Thread = { worker: Worker; pending: Map<number, Pending>; known: Set<number>; forget: boolean; batch: WireBatch['jobs']; tid: number | null; stopped: boolean };

/** Main → thread: jobs with their templates named by number, plus the sources the thread lacks. */
export interface WireBatch {
  jobs: { id: number; job: Omit<ComposeJob, 'templates'>; templates: [subject: number, html: number, text: number] }[];
  sources: [number, string][];
  /** Drop every source held so far (the numbering was reset). */
  forget: boolean;
}

/** Thread → main: the answers of some jobs (bytes transferred, or the error). */
export type WireResults = ({ id: number; raw: Uint8Array; envelope: ComposedMail['envelope'] } | { id: number; error: { code: string; message: string } })[];
/** Thread → main, once at start: its kernel thread id, so its CPU time can be read. */
export type WireHello = { tid: number | null };

/** Distinct template sources remembered before the numbering starts over (bounds memory). */
const MAX_SOURCES = 1024;

const BOOT = threadBoot(import.meta.url, 'compose-thread');

/**
 * `threads` = 0 composes inline. Otherwise jobs go to the least busy thread. A job whose thread
 * has spent `cpuBudgetMs` of CPU time since the job was posted without answering is a runaway: the
 * thread is stopped (a runaway template cannot hold the worker) and a new one takes its place.
 * CPU time, not wall-clock time: on a machine saturated by other work a healthy thread may wait
 * seconds for a CPU, and that is no fault of the message. A job still unanswered after
 * `starvedAfterMs` of wall-clock time while its thread got less than its budget is given back as
 * starved (tried again without counting an attempt) and its thread keeps running. Where a thread's
 * CPU time cannot be read (not Linux), `cpuBudgetMs` counts wall-clock time, as it used to. Each
 * thread's heap is capped.
 */
export function createComposer(threads: number, cpuBudgetMs: number, starvedAfterMs = 3 * cpuBudgetMs): Composer {
  if (threads <= 0) return { compose: composeMail, close: async () => {} };
  let closing = false;
  let seq = 0;
  const pool: Thread[] = [];
  // Templates are the same for thousands of mails: number each source, send it to a thread once.
  const sourceIds = new Map<string, number>();
  let sourceSeq = 0;
  const sourceId = (text: string): number => {
    let n = sourceIds.get(text);
    if (n === undefined) {
      if (sourceIds.size >= MAX_SOURCES) {
        sourceIds.clear();
        for (const t of pool) {
          t.known.clear();
          t.forget = true;
        }
      }
      sourceIds.set(text, (n = ++sourceSeq));
    }
    return n;
  };

  const spawn = (): Thread => {
    const t: Thread = { worker: new Worker(BOOT, { eval: true, resourceLimits: { maxOldGenerationSizeMb: 256 } }), pending: new Map(), known: new Set(), forget: false, batch: [], tid: null, stopped: false };
    const fail = (why: string) => {
      for (const p of t.pending.values()) {
        clearTimeout(p.timer);
        p.reject(new ComposeInterrupted(why));
      }
      t.pending.clear();
      const i = pool.indexOf(t);
      if (i < 0) return; // 'error' is followed by 'exit': replace the thread once
      pool.splice(i, 1);
      if (!closing) pool.push(spawn());
    };
    t.worker.on('message', (results: WireResults | WireHello) => {
      if (!Array.isArray(results)) {
        t.tid = results.tid;
        return;
      }
      for (const r of results) {
        const p = t.pending.get(r.id);
        if (!p) continue;
        t.pending.delete(r.id);
        clearTimeout(p.timer);
        if ('error' in r) p.reject(new AppError((r.error.code in ERROR_CODES ? r.error.code : 'INTERNAL_ERROR') as ErrorCode, r.error.message));
        else p.resolve({ raw: r.raw, envelope: r.envelope });
      }
    });
    t.worker.on('error', (e) => fail(`the compose thread failed: ${e.message}`));
    t.worker.on('exit', () => fail('the compose thread stopped'));
    t.worker.unref();
    return t;
  };
  for (let i = 0; i < threads; i++) pool.push(spawn());

  /** The thread's CPU time so far: 0 before it has said who it is (it is still starting), null if unreadable. */
  const cpuOf = (t: Thread): number | null => {
    if (!THREAD_CPU_MEASURABLE) return null;
    return t.tid === null ? 0 : threadCpuMs(t.tid);
  };

  /** A job not answered yet: stop a runaway, give a starved one back, else look again later. */
  const watch = (t: Thread, id: number, p: Pending): void => {
    if (t.pending.get(id) !== p) return;
    const wall = Date.now() - p.postedAt;
    const now = cpuOf(t);
    const used = now === null ? wall : now - p.cpuAtPost;
    if (used >= cpuBudgetMs) {
      t.pending.delete(id);
      if (!p.settled) p.reject(new ComposeInterrupted(`composing took more than ${cpuBudgetMs} ms of CPU time; the thread was stopped`));
      if (!t.stopped) void t.worker.terminate();
      t.stopped = true;
      return;
    }
    if (!p.settled && wall >= starvedAfterMs) {
      p.settled = true;
      p.reject(new ComposeStarved(`composing waited ${wall} ms for a CPU and got ${Math.round(used)} ms (the machine is busy); tried again later, not counted as an attempt`));
    }
    p.timer = setTimeout(() => watch(t, id, p), Math.max(cpuBudgetMs - used, cpuBudgetMs / 10, 1));
  };

  /** The texts of the templates a queued job names, until its batch is posted. */
  const sourcesOf = new Map<number, ComposeJob['templates']>();
  const post = (t: Thread) => {
    const jobs = t.batch.splice(0);
    const sources: [number, string][] = [];
    for (const j of jobs) {
      const texts = sourcesOf.get(j.id)!;
      sourcesOf.delete(j.id);
      [texts.subject, texts.html, texts.text].forEach((text, i) => {
        const n = j.templates[i]!;
        if (!t.known.has(n)) {
          t.known.add(n);
          sources.push([n, text]);
        }
      });
    }
    const batch: WireBatch = { jobs, sources, forget: t.forget };
    t.forget = false;
    t.worker.postMessage(batch);
  };

  return {
    compose(job) {
      if (closing) return Promise.reject(new ComposeInterrupted('the worker is stopping'));
      const t = pool.reduce((a, b) => (b.pending.size < a.pending.size ? b : a));
      const id = ++seq;
      return new Promise<ComposedMail>((resolve, reject) => {
        const p: Pending = { resolve, reject, timer: undefined, postedAt: Date.now(), cpuAtPost: cpuOf(t) ?? 0, settled: false };
        p.timer = setTimeout(() => watch(t, id, p), cpuBudgetMs);
        t.pending.set(id, p);
        const { templates, ...rest } = job;
        if (!t.batch.length) queueMicrotask(() => post(t));
        t.batch.push({ id, job: rest, templates: [sourceId(templates.subject), sourceId(templates.html), sourceId(templates.text)] });
        sourcesOf.set(id, templates);
      });
    },
    async close() {
      closing = true;
      await Promise.all(pool.map((t) => t.worker.terminate()));
    },
  };
}
