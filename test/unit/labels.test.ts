import { describe, expect, it } from 'vitest';
import { LabelsSchema, parseLabelPairs } from '../../shared/labels';

describe('tenant labels', () => {
  it('takes Kubernetes-shaped keys and values, up to 32 of them', () => {
    const ok = { tier: 'gold', 'region.eu-west_1': 'Dublin-2', empty: '' };
    expect(LabelsSchema.parse(ok)).toEqual(ok);
    expect(
      LabelsSchema.safeParse(Object.fromEntries(Array.from({ length: 32 }, (_, i) => [`k${i}`, 'v'])))
        .success,
    ).toBe(true);
    expect(
      LabelsSchema.safeParse(Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`k${i}`, 'v'])))
        .success,
    ).toBe(false);
  });

  it.each<[unknown, string]>([
    [{ Tier: 'gold' }, 'upper case in a key'],
    [{ '-tier': 'gold' }, 'a key starting with a dash'],
    [{ ['k'.repeat(64)]: 'v' }, 'a 64-character key'],
    [{ tier: 'gold plus' }, 'a space in a value'],
    [{ tier: 'v'.repeat(64) }, 'a 64-character value'],
    [{ tier: 'gold-' }, 'a value ending with a dash'],
    [{ tier: 7 }, 'a number'],
  ])('refuses %j (%s)', (labels, _why) => {
    expect(LabelsSchema.safeParse(labels).success).toBe(false);
  });

  it('reads key=value pairs from a flag, and names a pair that is not one', () => {
    expect(parseLabelPairs('tier=gold,region=eu')).toEqual({ tier: 'gold', region: 'eu' });
    expect(parseLabelPairs('tier=')).toEqual({ tier: '' });
    expect(parseLabelPairs('tier=gold,oops')).toBe("'oops' is not key=value");
    expect(parseLabelPairs('=gold')).toBe("'=gold' is not key=value");
    // `__proto__` stays an own property, never the object's prototype; zod's record drops such a key.
    const odd = parseLabelPairs('__proto__=x');
    expect(Object.getPrototypeOf(odd)).toBe(Object.prototype);
    expect(Object.keys(odd as object)).toEqual(['__proto__']);
    expect(LabelsSchema.parse(odd)).toEqual({});
  });
});
