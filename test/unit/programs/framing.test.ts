import { describe, expect, it } from 'vitest';
import { ACK, FramingError, GREETING, LineParser, TokenParser, UPDATE } from '../../../src/programs/framing.js';

describe('TokenParser', () => {
  const tokensOf = (p: TokenParser, input: string | Buffer) => {
    const r = p.push(input);
    expect(r.error).toBeUndefined();
    return r.tokens;
  };

  it('returns one token per complete token', () => {
    expect(tokensOf(new TokenParser(), '<update>')).toEqual([UPDATE]);
  });

  it('counts coalesced tokens each once (the seed counted one per read)', () => {
    expect(tokensOf(new TokenParser(), `${GREETING}${ACK}${ACK}${ACK}`)).toEqual([GREETING, ACK, ACK, ACK]);
  });

  it('reassembles a token split across reads, at every split point', () => {
    const stream = `${UPDATE}${UPDATE}${ACK}`;
    for (let cut = 1; cut < stream.length; cut++) {
      const p = new TokenParser();
      const tokens = [...tokensOf(p, stream.slice(0, cut)), ...tokensOf(p, stream.slice(cut))];
      expect(tokens, `cut at ${cut}`).toEqual([UPDATE, UPDATE, ACK]);
      expect(p.pending).toBe(0);
    }
  });

  it('reassembles a byte-at-a-time stream', () => {
    const p = new TokenParser();
    const tokens = [...`${GREETING}${ACK}`].flatMap((ch) => tokensOf(p, Buffer.from(ch)));
    expect(tokens).toEqual([GREETING, ACK]);
  });

  it('keeps a partial token pending without error', () => {
    const p = new TokenParser();
    expect(tokensOf(p, '<upd')).toEqual([]);
    expect(p.pending).toBe(4);
  });

  it('tolerates whitespace between tokens (netcat users)', () => {
    expect(tokensOf(new TokenParser(), `${UPDATE}\r\n ${UPDATE}\n`)).toEqual([UPDATE, UPDATE]);
  });

  it.each([
    ['a byte outside a token', 'hello', /garbage: unexpected byte "h"/],
    ['a binary byte', Buffer.from([0x00, 0x01]), /garbage: unexpected byte 0x00/],
    ['an unknown token', '<hello>', /garbage: unknown token "<hello>"/],
    ['garbage after a good token', `${UPDATE}x`, /garbage/],
  ])('rejects %s as garbage', (_name, input, message) => {
    const { error } = new TokenParser().push(input);
    expect(error).toBeInstanceOf(FramingError);
    expect(error!.kind).toBe('garbage');
    expect(error!.message).toMatch(message);
  });

  it('returns the tokens completed before the garbage in the same read', () => {
    const r = new TokenParser().push(`${UPDATE}${UPDATE}junk`);
    expect(r.tokens).toEqual([UPDATE, UPDATE]);
    expect(r.error?.kind).toBe('garbage');
  });

  it('rejects an oversized token that never closes', () => {
    const p = new TokenParser({ maxTokenBytes: 16 });
    expect(tokensOf(p, '<aaaaaaaa')).toEqual([]);
    const { error } = p.push('aaaaaaaaaa');
    expect(error?.kind).toBe('oversized');
    expect(error?.message).toMatch(/oversized token: 19 bytes without a closing ">" \(limit 16\)/);
  });

  it('rejects an oversized complete token', () => {
    expect(new TokenParser({ maxTokenBytes: 8 }).push(GREETING).error?.message).toMatch(/oversized token: 15 bytes \(limit 8\)/);
  });

  it('stays failed after an error (the caller closes the connection)', () => {
    const p = new TokenParser();
    expect(p.push('x').error).toBeInstanceOf(FramingError);
    expect(p.push(UPDATE)).toEqual({ tokens: [], error: expect.any(FramingError) });
  });

  it('accepts only the tokens it is given', () => {
    expect(new TokenParser({ tokens: [UPDATE] }).push(ACK).error?.message).toMatch(/unknown token "<Ack>" \(expected one of <update>\)/);
  });
});

describe('LineParser', () => {
  it('splits coalesced lines and strips CR', () => {
    const p = new LineParser();
    expect(p.push('a\nb\r\nc')).toEqual([{ line: 'a' }, { line: 'b' }]);
    expect(p.push('d\n')).toEqual([{ line: 'cd' }]);
  });

  it('reassembles a line split inside a multi-byte UTF-8 character', () => {
    const bytes = Buffer.from('{"x":"é"}\n', 'utf8');
    const cut = bytes.indexOf(0xc3) + 1;
    const p = new LineParser();
    expect(p.push(bytes.subarray(0, cut))).toEqual([]);
    expect(p.push(bytes.subarray(cut))).toEqual([{ line: '{"x":"é"}' }]);
  });

  it('reports an oversized line once, skips it, and resynchronises at the next newline', () => {
    const p = new LineParser({ maxLineBytes: 8 });
    const first = p.push('0123456789');
    expect(first).toHaveLength(1);
    expect('error' in first[0]! && first[0].error.kind).toBe('oversized');
    expect(p.push('more junk')).toEqual([]);
    expect(p.push('\nok\n')).toEqual([{ line: 'ok' }]);
  });

  it('reports an oversized line that arrives complete in one read', () => {
    const p = new LineParser({ maxLineBytes: 4 });
    const out = p.push('toolong\nok\n');
    expect(out).toHaveLength(2);
    expect('error' in out[0]!).toBe(true);
    expect(out[1]).toEqual({ line: 'ok' });
  });
});
