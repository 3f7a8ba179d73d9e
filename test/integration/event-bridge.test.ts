import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { LocalEngine } from '../../local/engine';
import { setTenantDomains } from '../../shared/api/routes';
import { BlueprintCatalog } from '../../shared/blueprint';
import { TransientDatabaseError } from '../../shared/errors';
import { changeAndPublish } from '../../shared/events/publisher';
import { type TestDatabase, testBackends } from '../support/databases';
import { engineFor, provision } from '../support/provisioning';
import { deprovisionTenant, restoreTenant } from '../support/roundtrip';
import { suiteBackupDir } from '../support/temp-dirs';

const BUS = 'tenantry-test-bus';

interface PutEventsEntry {
  readonly EventBusName: string;
  readonly Source: string;
  readonly DetailType: string;
  readonly Detail: string;
}

/**
 * EventBridge on a local port: each request as the real `@aws-sdk/client-eventbridge` client sent
 * it (the SDK finds the port through AWS_ENDPOINT_URL_EVENTBRIDGE), answered as the service
 * answers PutEvents. `onRequest` runs before the answer; `refuse` makes it answer a failed entry.
 */
function eventBridgeDouble() {
  const requests: { target?: string; authorization?: string; entries: PutEventsEntry[] }[] = [];
  const double = {
    requests,
    refuse: false,
    onRequest: async (): Promise<void> => {},
    /** The entries sent, each Detail parsed. */
    events: () =>
      requests.flatMap((r) =>
        r.entries.map((e) => ({ ...e, Detail: JSON.parse(e.Detail) as Record<string, unknown> })),
      ),
    url: '',
  };
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => {
      body += chunk.toString();
    });
    req.on('end', async () => {
      const headers: IncomingHttpHeaders = req.headers;
      const { Entries } = JSON.parse(body) as { Entries: PutEventsEntry[] };
      requests.push({
        target: headers['x-amz-target'] as string | undefined,
        authorization: headers.authorization,
        entries: Entries,
      });
      await double.onRequest();
      res.writeHead(200, { 'content-type': 'application/x-amz-json-1.1' });
      res.end(
        JSON.stringify(
          double.refuse
            ? {
                FailedEntryCount: 1,
                Entries: [{ ErrorCode: 'InternalFailure', ErrorMessage: 'try again' }],
              }
            : { FailedEntryCount: 0, Entries: Entries.map((_, i) => ({ EventId: `event-${i}` })) },
        ),
      );
    });
  });
  return {
    double,
    async start() {
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      double.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    },
    stop: () => new Promise((resolve) => server.close(resolve)),
  };
}

/** Points Tenantry's events at the double (as TENANTRY_EVENT_BUS_NAME does on AWS), and back afterwards. */
function onEventBridge(url: () => string) {
  const names = [
    'TENANTRY_EVENT_BUS_NAME',
    'AWS_ENDPOINT_URL_EVENTBRIDGE',
    'AWS_REGION',
    'AWS_ACCESS_KEY_ID',
    'AWS_SECRET_ACCESS_KEY',
    'AWS_SESSION_TOKEN',
    'AWS_PROFILE',
  ] as const;
  const saved = Object.fromEntries(names.map((n) => [n, process.env[n]]));
  beforeAll(() => {
    Object.assign(process.env, {
      TENANTRY_EVENT_BUS_NAME: BUS,
      AWS_ENDPOINT_URL_EVENTBRIDGE: url(),
      AWS_REGION: 'eu-west-1',
      AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
      AWS_SECRET_ACCESS_KEY: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
    });
    delete process.env.AWS_SESSION_TOKEN;
    delete process.env.AWS_PROFILE;
  });
  afterAll(() => {
    for (const n of names) {
      if (saved[n] === undefined) delete process.env[n];
      else process.env[n] = saved[n];
    }
  });
}

// One bus double for the file: the publisher's SDK client is made once per process, at its first event.
const bus = eventBridgeDouble();
beforeAll(() => bus.start());
afterAll(() => bus.stop());

describe.each(testBackends())('changeAndPublish on EventBridge, on $name', (backend) => {
  suiteBackupDir('tenantry-event-bridge-backups-');
  onEventBridge(() => bus.double.url);
  let t: TestDatabase;
  let engine: LocalEngine;
  const outboxRows = async () =>
    Number(
      (await t.db.query<{ n: string }>('SELECT count(*)::text AS n FROM tenantry.outbox_events')).rows[0]?.n,
    );

  beforeAll(async () => {
    t = await backend.open();
    engine = engineFor(t.db);
    const { record } = await provision(engine, 'eb-acme', 'docex', { domains: ['acme.example.com'] });
    expect(record.error ?? null, record.cause ?? '').toBeNull();
    await t.db.query(
      `CREATE TABLE public.eb_probe (id integer, CONSTRAINT eb_probe_once UNIQUE (id) DEFERRABLE INITIALLY DEFERRED)`,
    );
  }, 300_000);
  afterAll(async () => {
    await t?.close();
  });
  beforeEach(() => {
    bus.double.requests.length = 0;
    bus.double.refuse = false;
    bus.double.onRequest = async () => {};
  });

  it('sends a real change’s event to the bus after the commit: Source tenantry, its DetailType, its detail with eventKey; no outbox row', async () => {
    const outboxBefore = await outboxRows();
    const committed: boolean[] = [];
    bus.double.onRequest = async () => {
      // What the bus's consumers would read on the event: the change is already there.
      const { rows } = await t.db.query(
        `SELECT 1 FROM tenantry.tenant_domains WHERE tenant_id = 'eb-acme' AND host = 'www.acme.example.com' AND released_at IS NULL`,
      );
      committed.push(rows.length === 1);
    };
    const rt = { db: t.db, blueprints: new BlueprintCatalog() };
    await setTenantDomains(rt, 'eb-acme', ['acme.example.com', 'www.acme.example.com'], 'test');
    expect(bus.double.requests).toHaveLength(1);
    expect(bus.double.requests[0]?.target).toBe('AWSEvents.PutEvents');
    expect(bus.double.requests[0]?.authorization).toMatch(
      /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/eu-west-1\/events\/aws4_request, /,
    );
    const { rows: audit } = await t.db.query<{ id: string }>(
      `SELECT max(id)::text AS id FROM tenantry.audit_log WHERE tenant_id = 'eb-acme' AND action = 'domains.set'`,
    );
    expect(bus.double.events()).toEqual([
      {
        EventBusName: BUS,
        Source: 'tenantry',
        DetailType: 'TenantDomainsChanged',
        Detail: {
          tenantId: 'eb-acme',
          domains: ['acme.example.com', 'www.acme.example.com'],
          previous: ['acme.example.com'],
          eventKey: `TenantDomainsChanged:eb-acme:${audit[0]?.id}`,
        },
      },
    ]);
    expect(committed).toEqual([true]);
    expect(await outboxRows()).toBe(outboxBefore);
    // The same hosts again: no change, no event.
    await setTenantDomains(rt, 'eb-acme', ['acme.example.com', 'www.acme.example.com'], 'test');
    expect(bus.double.requests).toHaveLength(1);
  });

  it('sends nothing when the change throws, or when its commit fails: the transaction rolled back', async () => {
    const event = { type: 'TenantMigrated', key: 'TenantMigrated:probe', detail: { tenantId: 'eb-acme' } };
    const failure = new Error('the change failed');
    await expect(
      changeAndPublish(t.db, async (tx) => {
        await tx.query('INSERT INTO public.eb_probe (id) VALUES (1)');
        throw failure;
      }),
    ).rejects.toBe(failure);
    // The change made its event, then COMMIT failed (the deferred unique constraint).
    await expect(
      changeAndPublish(t.db, async (tx) => {
        await tx.query('INSERT INTO public.eb_probe (id) VALUES (2), (2)');
        return { result: 'made', event };
      }),
    ).rejects.toThrow();
    expect(bus.double.requests).toEqual([]);
    expect((await t.db.query('SELECT id FROM public.eb_probe')).rows).toEqual([]);
    // The same change committed: sent once, after.
    expect(
      await changeAndPublish(t.db, async (tx) => {
        await tx.query('INSERT INTO public.eb_probe (id) VALUES (3)');
        return { result: 'made', event };
      }),
    ).toBe('made');
    expect(bus.double.events()).toEqual([
      {
        EventBusName: BUS,
        Source: 'tenantry',
        DetailType: 'TenantMigrated',
        Detail: { tenantId: 'eb-acme', eventKey: 'TenantMigrated:probe' },
      },
    ]);
  });

  it('fails the caller when the bus refuses the entry, the change committed (a retry sends it again)', async () => {
    bus.double.refuse = true;
    const event = { type: 'TenantMigrated', key: 'TenantMigrated:refused', detail: { tenantId: 'eb-acme' } };
    await expect(
      changeAndPublish(t.db, async (tx) => {
        await tx.query('INSERT INTO public.eb_probe (id) VALUES (4)');
        return { result: 'made', event };
      }),
    ).rejects.toBeInstanceOf(TransientDatabaseError);
    expect(bus.double.requests).toHaveLength(1);
    expect((await t.db.query('SELECT id FROM public.eb_probe WHERE id = 4')).rows).toEqual([{ id: 4 }]);
  });

  it('sends TenantDisabled, TenantDeprovisioned and TenantRestored from a real Deprovision then Restore', async () => {
    const outboxBefore = await outboxRows();
    const gone = await deprovisionTenant(engine, 'eb-acme');
    expect(gone.record.error ?? null, gone.record.cause ?? '').toBeNull();
    const restored = await restoreTenant(engine, 'eb-acme');
    const events = bus.double.events();
    expect(events.map((e) => [e.Source, e.DetailType, e.Detail.tenantId])).toEqual([
      ['tenantry', 'TenantDisabled', 'eb-acme'],
      ['tenantry', 'TenantDeprovisioned', 'eb-acme'],
      ['tenantry', 'TenantRestored', 'eb-acme'],
    ]);
    expect(events[2]?.Detail).toEqual({
      tenantId: 'eb-acme',
      schema: 'tenant_eb_acme',
      version: 1,
      domains: ['acme.example.com', 'www.acme.example.com'],
      executionId: restored.executionId,
      eventKey: `TenantRestored:${restored.executionId}`,
    });
    expect(await outboxRows()).toBe(outboxBefore);
  }, 180_000);
});
