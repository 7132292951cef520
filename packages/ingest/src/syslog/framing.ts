/**
 * RFC 6587 stream framing, decided per message: octet counting (`<len> <msg>`, a message starting
 * with digits and a space) or non-transparent framing (a message ends at LF; a trailing CR is
 * dropped). Memory stays bounded by `maxMessageBytes`: a longer message is skipped as it arrives
 * and reported once as oversized with its first bytes.
 */
export interface Frame {
  bytes: Buffer;
  oversized: boolean;
  /** Full length in bytes, also for an oversized frame. */
  length: number;
}

const NEWLINE = 0x0a;
const CARRIAGE_RETURN = 0x0d;
const SPACE = 0x20;
const MAX_LENGTH_DIGITS = 10;

const isDigit = (byte: number) => byte >= 0x30 && byte <= 0x39;

export class SyslogFramer {
  readonly #maxMessageBytes: number;
  readonly #keepBytes: number;
  /** Octet counting: bytes still to read of the current frame; -1 in newline mode or between frames. */
  #remaining = -1;
  #parts: Buffer[] = [];
  #held = 0;
  #length = 0;
  #oversized = false;
  /** Digits of an octet count seen so far (a count can be split across reads). */
  #digits = "";
  #started = false;

  constructor(maxMessageBytes: number, keepBytes = Math.min(maxMessageBytes, 64 * 1024)) {
    this.#maxMessageBytes = maxMessageBytes;
    this.#keepBytes = Math.min(keepBytes, maxMessageBytes);
  }

  /** A frame is partly read (the slow-client check uses this). */
  get pending(): boolean {
    return this.#started || this.#digits.length > 0;
  }

  /** Bytes held for the frame being read. */
  get heldBytes(): number {
    return this.#held + this.#digits.length;
  }

  push(chunk: Buffer): Frame[] {
    const frames: Frame[] = [];
    let index = 0;
    while (index < chunk.length) {
      if (this.#remaining > 0) {
        const take = Math.min(this.#remaining, chunk.length - index);
        this.#take(chunk, index, index + take);
        index += take;
        this.#remaining -= take;
        if (this.#remaining === 0) {
          this.#remaining = -1;
          const frame = this.#finish(false);
          if (frame) frames.push(frame);
        }
        continue;
      }
      if (!this.#started) {
        // Between frames: digits then a space start an octet-counted frame.
        const byte = chunk[index]!;
        if (isDigit(byte) && this.#digits.length < MAX_LENGTH_DIGITS) {
          this.#digits += String.fromCharCode(byte);
          index += 1;
          continue;
        }
        if (byte === SPACE && this.#digits.length > 0) {
          const length = Number(this.#digits);
          this.#digits = "";
          index += 1;
          if (length === 0) continue;
          this.#started = true;
          this.#remaining = length;
          continue;
        }
        // Not a count after all: the digits start a newline-framed message.
        this.#started = true;
        if (this.#digits.length > 0) {
          this.#take(Buffer.from(this.#digits, "latin1"), 0, this.#digits.length);
          this.#digits = "";
        }
        continue;
      }
      const newline = chunk.indexOf(NEWLINE, index);
      if (newline === -1) {
        this.#take(chunk, index, chunk.length);
        index = chunk.length;
        continue;
      }
      this.#take(chunk, index, newline);
      index = newline + 1;
      const frame = this.#finish(true);
      if (frame) frames.push(frame);
    }
    return frames;
  }

  /** The connection ended: a partial frame is still handed on (the parser judges a cut-off message). */
  end(): Frame[] {
    if (this.#digits.length > 0 && !this.#started) {
      this.#started = true;
      this.#take(Buffer.from(this.#digits, "latin1"), 0, this.#digits.length);
      this.#digits = "";
    }
    if (!this.#started) return [];
    const frame = this.#finish(this.#remaining === -1);
    this.#remaining = -1;
    return frame ? [frame] : [];
  }

  #take(chunk: Buffer, start: number, end: number): void {
    this.#started = true;
    this.#length += end - start;
    if (this.#oversized) return;
    if (this.#held + (end - start) <= this.#maxMessageBytes) {
      // A copy: the frame may outlive the socket's read buffer by a long time in the queue.
      this.#parts.push(Buffer.from(chunk.subarray(start, end)));
      this.#held += end - start;
      return;
    }
    this.#oversized = true;
    const prefix = Buffer.concat(
      [...this.#parts, chunk.subarray(start, end)],
      Math.min(this.#held + (end - start), this.#keepBytes),
    );
    this.#parts = [prefix];
    this.#held = prefix.length;
  }

  #finish(stripCarriageReturn: boolean): Frame | undefined {
    let bytes = this.#parts.length === 1 ? this.#parts[0]! : Buffer.concat(this.#parts, this.#held);
    let length = this.#length;
    if (
      stripCarriageReturn &&
      !this.#oversized &&
      bytes.length > 0 &&
      bytes[bytes.length - 1] === CARRIAGE_RETURN
    ) {
      bytes = bytes.subarray(0, bytes.length - 1);
      length -= 1;
    }
    const frame: Frame = { bytes, oversized: this.#oversized, length };
    this.#parts = [];
    this.#held = 0;
    this.#length = 0;
    this.#oversized = false;
    this.#started = false;
    return frame.length === 0 ? undefined : frame;
  }
}
