import { readFileSync } from 'node:fs';

/** Clock ticks per second of /proc/<pid>/stat (USER_HZ); 100 on every Linux this runs on. */
const USER_HZ = 100;

/**
 * CPU seconds (user + system, every thread) process `pid` has used so far, from /proc/<pid>/stat;
 * null when the process is gone or this is not Linux.
 */
export function processCpuSeconds(pid: number | undefined): number | null {
  if (pid === undefined) return null;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may contain spaces) start at field 3; utime and stime are 14 and 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / USER_HZ;
  } catch {
    return null;
  }
}

/** CPU seconds of several processes, measured from now until `stop()` is called. */
export function cpuMeter(pids: Record<string, number | undefined>): () => Record<string, number | null> {
  const before = Object.fromEntries(Object.entries(pids).map(([name, pid]) => [name, processCpuSeconds(pid)]));
  return () =>
    Object.fromEntries(
      Object.entries(pids).map(([name, pid]) => {
        const start = before[name];
        const end = processCpuSeconds(pid);
        return [name, start === null || start === undefined || end === null ? null : end - start];
      }),
    );
}
