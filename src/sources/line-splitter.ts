/**
 * Splits a byte stream into lines, keeping each line's byte offset so a record's position is
 * exact and a reader can resume at a line boundary. A final line without a newline is held
 * back until {@link LineSplitter.end} (a file being written may not have finished it yet).
 * Lines longer than the limit are not truncated silently: they come out flagged `oversize`
 * with their first `maxLineBytes` bytes and their full length, to be quarantined.
 */

/** One line cut from the stream. */
export interface SplitLine {
  /** Line content without the newline (and without a trailing \r). */
  bytes: Buffer;
  /** Byte offset of the line's first byte in the stream. */
  offset: number;
  /** Byte offset just after the line's newline: where a reader resumes after this line. */
  next: number;
  /** 1-based line number counted from where the splitter started. */
  lineNo: number;
  /** Set when the line was longer than the limit: its real length in bytes. */
  oversize?: number;
}

export class LineSplitter {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private lineStart: number;
  private lineNo: number;
  /** Bytes of the current over-long line dropped from `pending` (only its head is kept). */
  private skipped = 0;

  constructor(startOffset = 0, private readonly maxLineBytes = 1 << 20, startLine = 0) {
    this.lineStart = startOffset;
    this.lineNo = startLine;
  }

  /** Feeds a chunk; returns the complete lines it finished. */
  push(chunk: Buffer): SplitLine[] {
    const out: SplitLine[] = [];
    let from = 0;
    for (;;) {
      const nl = chunk.indexOf(10, from);
      if (nl === -1) {
        this.hold(chunk.subarray(from));
        return out;
      }
      this.hold(chunk.subarray(from, nl));
      out.push(this.cut(1));
      from = nl + 1;
    }
  }

  /** Ends the stream: returns the final unterminated line, if any. */
  end(): SplitLine[] {
    return this.pendingBytes + this.skipped > 0 ? [this.cut(0)] : [];
  }

  /** Bytes of the unterminated line held back. */
  get heldBytes(): number {
    return this.pendingBytes + this.skipped;
  }

  private hold(part: Buffer): void {
    if (part.length === 0) return;
    const room = this.maxLineBytes - this.pendingBytes;
    if (room > 0) {
      const kept = part.length <= room ? part : part.subarray(0, room);
      // Copy: the caller may reuse its chunk buffer.
      this.pending.push(Buffer.from(kept));
      this.pendingBytes += kept.length;
      this.skipped += part.length - kept.length;
    } else this.skipped += part.length;
  }

  private cut(newlineBytes: number): SplitLine {
    let bytes = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending, this.pendingBytes);
    const total = this.pendingBytes + this.skipped;
    if (this.skipped === 0 && bytes.length > 0 && bytes[bytes.length - 1] === 13) bytes = bytes.subarray(0, bytes.length - 1);
    const line: SplitLine = { bytes, offset: this.lineStart, next: this.lineStart + total + newlineBytes, lineNo: ++this.lineNo };
    if (this.skipped > 0) line.oversize = total;
    this.lineStart = line.next;
    this.pending = [];
    this.pendingBytes = 0;
    this.skipped = 0;
    return line;
  }
}
