/** Opens the input named on the command line: a file path, or `-`/nothing for stdin. */
import fs from 'node:fs';
import type { Readable } from 'node:stream';
import { MeshtrailError } from '../errors.js';

export function openInput(file: string | undefined): { stream: Readable; label: string } {
  if (file === undefined || file === '-') return { stream: process.stdin, label: 'stdin' };
  let stat: fs.Stats;
  try {
    stat = fs.statSync(file);
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new MeshtrailError('ERR_INPUT_NOT_FOUND', file, { cause });
    throw new MeshtrailError('ERR_INPUT_UNREADABLE', `${file}: ${(cause as Error).message}`, { cause });
  }
  if (stat.isDirectory()) throw new MeshtrailError('ERR_INPUT_UNREADABLE', `${file} is a directory`);
  try {
    fs.accessSync(file, fs.constants.R_OK);
  } catch (cause) {
    throw new MeshtrailError('ERR_INPUT_UNREADABLE', `${file}: ${(cause as Error).message}`, { cause });
  }
  return { stream: fs.createReadStream(file, { highWaterMark: 1 << 20 }), label: file };
}
