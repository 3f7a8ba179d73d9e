import { describe, expect, it } from 'vitest';
import { DEFAULT_LEASE_SECONDS, leaseSettingsFromEnv, newLeaseOwner } from '../../local/lease';
import { ConfigError } from '../../shared/errors';

describe('execution lease settings', () => {
  it('default to 45 s, renewed every third of it', () => {
    expect(DEFAULT_LEASE_SECONDS).toBe(45);
    expect(leaseSettingsFromEnv({})).toEqual({ timeoutMs: 45_000, renewEveryMs: 15_000 });
  });

  it('take TENANTRY_LEASE_SECONDS, fractions too (tests use a short one)', () => {
    expect(leaseSettingsFromEnv({ TENANTRY_LEASE_SECONDS: '3' })).toEqual({
      timeoutMs: 3_000,
      renewEveryMs: 1_000,
    });
    expect(leaseSettingsFromEnv({ TENANTRY_LEASE_SECONDS: '0.6' })).toEqual({
      timeoutMs: 600,
      renewEveryMs: 200,
    });
  });

  it('refuse a value that is not a positive number of seconds', () => {
    for (const bad of ['0', '-5', 'soon', '100000'])
      expect(() => leaseSettingsFromEnv({ TENANTRY_LEASE_SECONDS: bad }), bad).toThrow(ConfigError);
  });

  it('name each holder uniquely, with its host and process', () => {
    const a = newLeaseOwner();
    expect(a).toMatch(new RegExp(`:${process.pid}:[0-9a-f]{8}$`));
    expect(newLeaseOwner()).not.toBe(a);
  });
});
