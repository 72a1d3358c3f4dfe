import { afterEach, describe, expect, it, vi } from 'vitest';
import { Timers } from '../../../src/programs/timers.js';

describe('Timers', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('runs what is due and cancels the rest on clearAll', () => {
    vi.useFakeTimers();
    const timers = new Timers();
    const ran: string[] = [];
    timers.later(10, () => ran.push('a'));
    timers.later(50, () => ran.push('b'));
    vi.advanceTimersByTime(20);
    timers.clearAll();
    vi.advanceTimersByTime(100);
    expect(ran).toEqual(['a']);
  });
});
