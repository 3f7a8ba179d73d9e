import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient, regionOf } from '../../local/api-client';

describe('the API client', () => {
  let seen: { method?: string; url?: string; headers: IncomingHttpHeaders; body: string }[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => {
      body += c.toString();
    });
    req.on('end', () => {
      seen.push({ method: req.method, url: req.url, headers: req.headers, body });
      res.writeHead(202, { 'content-type': 'application/json' });
      res.end('{"ok":true}');
    });
  });
  let url = '';
  const saved = { ...process.env };
  beforeAll(async () => {
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    process.env.AWS_ACCESS_KEY_ID = 'AKIDEXAMPLE';
    process.env.AWS_SECRET_ACCESS_KEY = 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY';
    delete process.env.AWS_SESSION_TOKEN;
    delete process.env.AWS_PROFILE;
  });
  afterAll(async () => {
    process.env = saved;
    await new Promise((r) => server.close(r));
  });

  it('signs requests with SigV4 for execute-api, body and query included', async () => {
    seen = [];
    const client = new ApiClient(url, { sign: true, region: 'eu-west-1' });
    const res = await client.post('/tenants?x=1', { tenantId: 'acme' });
    expect(res).toEqual({ status: 202, body: { ok: true } });
    const [req] = seen;
    expect(req).toMatchObject({ method: 'POST', url: '/tenants?x=1', body: '{"tenantId":"acme"}' });
    expect(req?.headers.authorization).toMatch(
      /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/eu-west-1\/execute-api\/aws4_request, SignedHeaders=[a-z0-9;-]*host[a-z0-9;-]*, Signature=[0-9a-f]{64}$/,
    );
    expect(req?.headers['x-amz-date']).toMatch(/^\d{8}T\d{6}Z$/);
  });

  it('does not sign for the local server, and signs for API Gateway by default in its region', async () => {
    seen = [];
    await new ApiClient(url).get('/stats');
    expect(seen[0]?.headers.authorization).toBeUndefined();
    expect(regionOf('abc123.execute-api.eu-central-1.amazonaws.com')).toBe('eu-central-1');
    expect(regionOf('localhost')).toBeUndefined();
  });
});
