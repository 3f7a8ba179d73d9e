import { describe, expect, it } from 'vitest';
import { ResolveQuerySchema } from '../../shared/api/schemas';
import { DOMAIN_LIMITS, DomainsSchema, normaliseHost } from '../../shared/domains';
import { parseJsonExact } from '../../shared/json';

describe('a domain (normaliseHost)', () => {
  it('is stored lowercase, without the trailing dot, an internationalised name as punycode', () => {
    expect(normaliseHost('Acme.Example.COM.')).toEqual({ host: 'acme.example.com' });
    expect(normaliseHost('bücher.example')).toEqual({ host: 'xn--bcher-kva.example' });
    expect(normaliseHost('xn--bcher-kva.example')).toEqual({ host: 'xn--bcher-kva.example' });
    expect(normaliseHost('a-1.b-2.example')).toEqual({ host: 'a-1.b-2.example' });
    expect(normaliseHost(`${'a'.repeat(63)}.example`)).toEqual({ host: `${'a'.repeat(63)}.example` });
  });

  it.each([
    ['localhost', /one label/],
    ['', /one label/],
    ['.', /one label/],
    ['a..example', /empty label/],
    ['.example.com', /empty label/],
    ['acme.example.com..', /empty label/],
    ['-acme.example', /label '-acme'/],
    ['acme-.example', /label 'acme-'/],
    ['a_b.example', /label 'a_b'/],
    ['*.example.com', /label '\*'/],
    ['acme.example.com:443', /without a port/],
    ['acme example.com', /label 'acme example'/],
    ['10.0.0.1', /last label is a number/],
    ['127.1', /last label is a number/],
    ['xn--zz.example', /punycode/],
    [`${'a'.repeat(64)}.example`, /label 'a{64}'/],
    [`${'abcdefghi.'.repeat(25)}example`, /is 257 bytes long/],
  ])('refuses %j', (input, reason) => {
    const result = normaliseHost(input);
    expect('problem' in result ? result.problem : result.host).toMatch(reason);
  });
});

describe('a list of domains (DomainsSchema)', () => {
  it('names the entry that is wrong, a host given twice however spelled, and too many', () => {
    const twice = DomainsSchema.safeParse(['a.example', 'b.example', 'A.Example.']);
    expect(twice.error?.issues.map((i) => [i.path.join('.'), i.message])).toEqual([
      ['2', "'a.example' is given twice (as domains.0)"],
    ]);
    const bad = DomainsSchema.safeParse(['a.example', 'nope']);
    expect(bad.error?.issues.map((i) => i.path.join('.'))).toEqual(['1']);
    const many = Array.from({ length: DOMAIN_LIMITS.maxDomains + 1 }, (_, i) => `t${i}.example`);
    expect(DomainsSchema.safeParse(many).error?.issues[0]?.message).toMatch(/at most 20 domains/);
    expect(DomainsSchema.parse(many.slice(1))).toHaveLength(20);
  });
});

describe('GET /resolve query (ResolveQuerySchema)', () => {
  const fields = (q: Record<string, string>) =>
    ResolveQuerySchema.safeParse(q).error?.issues.map((i) => i.path.join('.'));

  it('takes exactly one of host and id, each checked', () => {
    expect(ResolveQuerySchema.parse({ host: 'Shop.Example.com.' })).toEqual({ host: 'shop.example.com' });
    expect(ResolveQuerySchema.parse({ id: 'acme' })).toEqual({ id: 'acme' });
    expect(fields({})).toEqual(['host', 'id']);
    expect(fields({ host: 'a.example', id: 'acme' })).toEqual(['host', 'id']);
    expect(fields({ host: 'a_b.example' })).toEqual(['host']);
    expect(fields({ id: 'Not An Id' })).toEqual(['id']);
    expect(fields({ host: 'a.example', other: 'x' })).toEqual(['']);
  });
});

describe('parseJsonExact', () => {
  it('keeps a number past 2^53 as its text, which JSON.stringify writes back unchanged', () => {
    const text = '{"maxBytes":9223372036854775807,"ratio":1.50,"small":42,"flag":true}';
    const parsed = parseJsonExact(text) as Record<string, unknown>;
    expect(JSON.stringify(parsed)).toBe(text);
    expect(parsed.small).toBe(42);
  });
});
