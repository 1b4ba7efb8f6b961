/**
 * Memory figures of the current process: a sampler of `process.memoryUsage().rss` (every 50 ms by
 * default) and the kernel's high-water mark (VmHWM in /proc/self/status, which also catches
 * peaks between two samples).
 */
import fs from 'node:fs';

/** Samples RSS until stopped; `peak` is the largest sample, in bytes. */
export class RssSampler {
  peak = 0;
  samples = 0;
  private readonly timer: NodeJS.Timeout;

  constructor(intervalMs = 50) {
    this.sample();
    this.timer = setInterval(() => this.sample(), intervalMs);
    this.timer.unref();
  }

  /** Takes one sample now (also call it between synchronous steps that starve the timer). */
  sample(): void {
    const rss = process.memoryUsage.rss();
    this.samples++;
    if (rss > this.peak) this.peak = rss;
  }

  stop(): number {
    clearInterval(this.timer);
    this.sample();
    return this.peak;
  }
}

/** VmHWM (peak resident set size) of this process in bytes, or null off Linux. */
export function vmHwm(): number | null {
  try {
    const m = /^VmHWM:\s+(\d+)\s+kB/m.exec(fs.readFileSync('/proc/self/status', 'utf8'));
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}
