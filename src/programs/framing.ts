/**
 * Stream framing for the lab programs. TCP delivers bytes, not messages: one read may hold half a
 * token or three of them. The seed's Twisted peer treated every read as one message (its main bug);
 * these parsers turn a byte stream back into the messages that were sent.
 *
 * - TokenParser: the peer protocol's angle-bracket tokens `<update>`, `<Ack>`, `<connection up>`,
 *   sent back to back with no separator (byte-identical to the seed).
 * - LineParser: newline-delimited records (one JSON object per line) for acklab-mcast.
 *
 * Both are pure (no sockets), so they are unit-tested on split, coalesced and hostile input.
 */

export const UPDATE = '<update>';
export const ACK = '<Ack>';
export const GREETING = '<connection up>';
export const PEER_TOKENS = [UPDATE, ACK, GREETING] as const;
export type PeerToken = (typeof PEER_TOKENS)[number];

/** Longest token the peer parser will buffer before giving up on a peer (the real ones are ≤ 15 bytes). */
export const DEFAULT_MAX_TOKEN_BYTES = 64;

export type FramingErrorKind = 'garbage' | 'oversized';

export class FramingError extends Error {
  constructor(
    readonly kind: FramingErrorKind,
    message: string,
  ) {
    super(message);
    this.name = 'FramingError';
  }
}

export interface TokenResult {
  tokens: string[];
  error?: FramingError;
}

export interface TokenParserOptions {
  /** Tokens this side accepts; anything else well-formed is "garbage: unknown token". */
  tokens?: readonly string[];
  maxTokenBytes?: number;
}

/**
 * Splits a byte stream into `<…>` tokens. Whitespace between tokens is tolerated (so a human with
 * netcat can type them); any other byte outside a token, an unknown token, or a token that grows past
 * maxTokenBytes without its `>` is a FramingError — after which the parser is dead (the caller closes
 * the connection), since there is no way to find the next token boundary reliably. Tokens completed
 * before the bad byte in the same read are still returned, so they are answered before the close.
 */
export class TokenParser {
  private buffer = '';
  private failed: FramingError | undefined;
  private readonly tokens: ReadonlySet<string>;
  private readonly maxTokenBytes: number;

  constructor(options: TokenParserOptions = {}) {
    this.tokens = new Set(options.tokens ?? PEER_TOKENS);
    this.maxTokenBytes = options.maxTokenBytes ?? DEFAULT_MAX_TOKEN_BYTES;
  }

  /** Feeds one read; returns the complete tokens it finished and, on bad input, the error. */
  push(chunk: Buffer | string): TokenResult {
    if (this.failed) return { tokens: [], error: this.failed };
    // latin1 keeps one char per byte, so lengths below are byte counts and no byte is ever mangled.
    this.buffer += typeof chunk === 'string' ? chunk : chunk.toString('latin1');
    const out: string[] = [];
    let pos = 0;
    const buf = this.buffer;
    while (pos < buf.length) {
      const c = buf.charCodeAt(pos);
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) {
        pos++;
        continue;
      }
      if (c !== 0x3c /* < */) {
        return this.fail(out, 'garbage', `garbage: unexpected byte ${describeByte(c)} outside a token`);
      }
      const end = buf.indexOf('>', pos + 1);
      if (end === -1) {
        if (buf.length - pos > this.maxTokenBytes) {
          return this.fail(out, 'oversized', `oversized token: ${buf.length - pos} bytes without a closing ">" (limit ${this.maxTokenBytes})`);
        }
        break;
      }
      const token = buf.slice(pos, end + 1);
      if (token.length > this.maxTokenBytes) {
        return this.fail(out, 'oversized', `oversized token: ${token.length} bytes (limit ${this.maxTokenBytes})`);
      }
      if (!this.tokens.has(token)) {
        return this.fail(out, 'garbage', `garbage: unknown token ${preview(token)} (expected one of ${[...this.tokens].join(', ')})`);
      }
      out.push(token);
      pos = end + 1;
    }
    this.buffer = buf.slice(pos);
    return { tokens: out };
  }

  /** Bytes received but not yet part of a complete token. */
  get pending(): number {
    return this.buffer.length;
  }

  private fail(tokens: string[], kind: FramingErrorKind, message: string): TokenResult {
    this.failed = new FramingError(kind, message);
    this.buffer = '';
    return { tokens, error: this.failed };
  }
}

export const DEFAULT_MAX_LINE_BYTES = 64 * 1024;

export type LineResult = { line: string } | { error: FramingError };

/**
 * Splits a byte stream into lines (LF, optional CR before it). A line longer than maxLineBytes is
 * reported once as an error and skipped up to its newline, so one bad record does not kill a link.
 */
export class LineParser {
  private parts: Buffer[] = [];
  private partBytes = 0;
  private discarding = false;
  private readonly maxLineBytes: number;

  constructor(options: { maxLineBytes?: number } = {}) {
    this.maxLineBytes = options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
  }

  push(chunk: Buffer | string): LineResult[] {
    const data = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
    const out: LineResult[] = [];
    let start = 0;
    for (;;) {
      const nl = data.indexOf(0x0a, start);
      if (nl === -1) break;
      const piece = data.subarray(start, nl);
      if (this.discarding) {
        this.discarding = false;
      } else if (this.partBytes + piece.length > this.maxLineBytes) {
        out.push({ error: oversizedLine(this.partBytes + piece.length, this.maxLineBytes) });
      } else {
        let line = (this.parts.length ? Buffer.concat([...this.parts, piece]) : piece).toString('utf8');
        if (line.endsWith('\r')) line = line.slice(0, -1);
        out.push({ line });
      }
      this.parts = [];
      this.partBytes = 0;
      start = nl + 1;
    }
    const rest = data.subarray(start);
    if (rest.length && !this.discarding) {
      if (this.partBytes + rest.length > this.maxLineBytes) {
        out.push({ error: oversizedLine(this.partBytes + rest.length, this.maxLineBytes) });
        this.parts = [];
        this.partBytes = 0;
        this.discarding = true;
      } else {
        // Copy: the socket may reuse its buffer after this callback returns.
        this.parts.push(Buffer.from(rest));
        this.partBytes += rest.length;
      }
    }
    return out;
  }

  get pending(): number {
    return this.partBytes;
  }
}

function oversizedLine(bytes: number, limit: number): FramingError {
  return new FramingError('oversized', `oversized line: at least ${bytes} bytes without a newline (limit ${limit}); skipped`);
}

function describeByte(c: number): string {
  const hex = `0x${c.toString(16).padStart(2, '0')}`;
  return c >= 0x21 && c < 0x7f ? `${JSON.stringify(String.fromCharCode(c))} (${hex})` : hex;
}

function preview(s: string): string {
  return JSON.stringify(s.length > 40 ? `${s.slice(0, 40)}…` : s);
}
