// What /proc says about a running process: CPU time, resident memory, its
// children, the open-files limit.
import { readFileSync } from 'node:fs';

const clockTicks = 100;  // USER_HZ; 100 on every Linux that Debian ships

// User + system CPU seconds of `pid`, all threads; 0 once it is gone.
export function cpuSeconds(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / clockTicks;  // utime, stime
  } catch {
    return 0;
  }
}

export function totalCpuSeconds(pids) {
  return pids.reduce((sum, pid) => sum + cpuSeconds(pid), 0);
}

// The direct children of `pid` (nginx's worker under its master).
export function childPids(pid) {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/)
      .filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

// A field of /proc/PID/status in kB (VmRSS, VmHWM …), or null.
export function statusKb(pid, field) {
  try {
    const match = readFileSync(`/proc/${pid}/status`, 'utf8').match(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm'));
    return match ? Number(match[1]) : null;
  } catch {
    return null;
  }
}

// Samples VmRSS of `pid` every `intervalMs` until stop(); stop() returns the
// samples and their peak, in kB.
export function sampleRss(pid, intervalMs = 100) {
  const samples = [];
  const take = () => {
    const kb = statusKb(pid, 'VmRSS');
    if (kb !== null) samples.push({ t: performance.now(), kb });
  };
  take();
  const timer = setInterval(take, intervalMs);
  return {
    stop() {
      clearInterval(timer);
      take();
      return { samples, peakKb: Math.max(...samples.map((s) => s.kb)) };
    },
  };
}

export function openFilesLimit() {
  const match = readFileSync('/proc/self/limits', 'utf8').match(/^Max open files\s+(\d+|unlimited)/m);
  return match ? (match[1] === 'unlimited' ? Infinity : Number(match[1])) : 0;
}
