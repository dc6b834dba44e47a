import fs from 'node:fs';

/**
 * The CPU time of one thread of this process, read by another thread while it runs (Linux /proc):
 * the compose pool tells a thread that is busy rendering from one that is only waiting for a CPU
 * on a loaded machine. Elsewhere nothing is measurable and callers fall back to wall-clock time.
 */
export const THREAD_CPU_MEASURABLE = process.platform === 'linux' && fs.existsSync('/proc/thread-self');

/** The kernel's id of the calling thread (call it inside the thread), or null where unknown. */
export function ownThreadId(): number | null {
  if (!THREAD_CPU_MEASURABLE) return null;
  try {
    const m = /\/task\/(\d+)$/.exec(fs.readlinkSync('/proc/thread-self'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

/** Milliseconds of CPU the thread `tid` of this process has used, or null if it cannot be read (gone). */
export function threadCpuMs(tid: number): number | null {
  const dir = `/proc/${process.pid}/task/${tid}`;
  try {
    // schedstat: nanoseconds on a CPU, the finest measure; not every kernel has it.
    return Number(fs.readFileSync(`${dir}/schedstat`, 'utf8').split(' ')[0]) / 1e6;
  } catch {
    try {
      // stat: utime and stime (fields 14 and 15) in clock ticks, 100 a second on Linux.
      const s = fs.readFileSync(`${dir}/stat`, 'utf8');
      const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
      return (Number(f[11]) + Number(f[12])) * 10;
    } catch {
      return null;
    }
  }
}
