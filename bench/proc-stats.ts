/**
 * Resource figures of another process from /proc (Linux only): resident memory and its kernel
 * high-water mark, threads, open file descriptors, and which of its sockets listen. Used by the
 * soak to watch `meshtrail run` from the outside, without touching its code.
 */
import fs from 'node:fs';

/** One reading of a process's resources; memory in bytes. */
export interface ProcSample {
  rss: number;
  hwm: number;
  threads: number;
  fds: number;
  sockets: number;
  /** TCP sockets in LISTEN state among its fds (IPv4 and IPv6). */
  listening: number;
}

/** Inodes of the sockets in LISTEN state in the process's network namespace. */
function listeningInodes(pid: number): Set<string> {
  const inodes = new Set<string>();
  for (const table of ['tcp', 'tcp6']) {
    let text: string;
    try {
      text = fs.readFileSync(`/proc/${pid}/net/${table}`, 'utf8');
    } catch {
      continue; // no IPv6 in this namespace
    }
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      // Columns: sl local rem st tx:rx tr:when retrnsmt uid timeout inode ...; 0A is LISTEN.
      if (cols[3] === '0A' && cols[9]) inodes.add(cols[9]);
    }
  }
  return inodes;
}

/** Reads the process's figures; null once it is gone. */
export function procSample(pid: number): ProcSample | null {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (key: string): number => Number(new RegExp(`^${key}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? 0) * 1024;
    const fdDir = `/proc/${pid}/fd`;
    const fds = fs.readdirSync(fdDir);
    const listen = listeningInodes(pid);
    let sockets = 0;
    let listening = 0;
    for (const fd of fds) {
      let target: string;
      try {
        target = fs.readlinkSync(`${fdDir}/${fd}`);
      } catch {
        continue; // closed between readdir and readlink
      }
      const m = /^socket:\[(\d+)\]$/.exec(target);
      if (!m) continue;
      sockets++;
      if (listen.has(m[1]!)) listening++;
    }
    return { rss: kb('VmRSS'), hwm: kb('VmHWM'), threads: Number(/^Threads:\s+(\d+)/m.exec(status)?.[1] ?? 0), fds: fds.length, sockets, listening };
  } catch {
    return null;
  }
}
