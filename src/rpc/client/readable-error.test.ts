import { describe, expect, it } from 'vitest';
import { readableStreamError } from './index.js';

describe('readableStreamError', () => {
  it('turns grpc-js details into one whole sentence', () => {
    expect(readableStreamError('No connection established. Last error: connect ECONNREFUSED 127.0.0.1:7701 (2026-12-08T03:20:00.000Z). Resolution note: '))
      .toBe('no connection established (last error: connect ECONNREFUSED 127.0.0.1:7701)');
    expect(readableStreamError('Connection dropped')).toBe('Connection dropped');
    expect(readableStreamError('  ')).toBe('the stream failed (no details)');
  });
});
