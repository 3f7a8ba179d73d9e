import { describe, expect, it } from 'vitest';
import { isRawJsonNumber, parseJsonExact, parseJsonLossless } from '../../shared/json';

describe('parseJsonLossless (request bodies)', () => {
  it('keeps a number a double holds as a number, however it is written', () => {
    expect(
      parseJsonLossless('[1.50, 4.0, 1e3, -0.25, 9007199254740992, 0, -0, 1E-7, 123456789012345]'),
    ).toEqual([1.5, 4, 1000, -0.25, 9007199254740992, 0, -0, 1e-7, 123456789012345]);
  });

  it('keeps a number whose digits a double would lose as the text it was sent as', () => {
    const text =
      '{"a":9223372036854775807,"b":9007199254740993,"c":0.1000000000000000055511151231257827,"d":1e400,"e":-18446744073709551616}';
    const value = parseJsonLossless(text) as Record<string, unknown>;
    for (const v of Object.values(value)) expect(isRawJsonNumber(v)).toBe(true);
    expect(JSON.stringify(value)).toBe(text);
  });
});

describe('parseJsonExact (seeds and jsonb text)', () => {
  it('keeps every number as written, trailing zeros included', () => {
    const text = '[1.50,9223372036854775807,4]';
    const value = parseJsonExact(text) as unknown[];
    expect(isRawJsonNumber(value[0])).toBe(true);
    expect(value[2]).toBe(4);
    expect(JSON.stringify(value)).toBe(text);
  });
});
