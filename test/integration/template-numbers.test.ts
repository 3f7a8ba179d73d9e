import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient } from '../../local/api-client';
import type { ApiServer } from '../../local/server';
import type { StartedExecutionResponse } from '../../shared/api/responses';
import { parseJsonLossless } from '../../shared/json';
import { finished, startTestApi } from '../support/api';
import { type TestDatabase, testBackends } from '../support/databases';

// Numbers a double cannot hold, sent in a template's body as JSON text: 2^63 - 1, 2^53 + 1, a
// 30-digit integer and a decimal of 34 significant digits.
const MAX_BIGINT = '9223372036854775807';
const PAST_2_53 = '9007199254740993';
const THIRTY_DIGITS = '123456789012345678901234567890';
const LONG_DECIMAL = '0.1000000000000000055511151231257827';

/** The template's body as a client writes it: the numbers as literal JSON text, never a JS number. */
const templateBody = `{
  "name": "Exact Numbers",
  "category": "custom",
  "blueprint": "docex",
  "blueprintVersion": 1,
  "settings": { "ratio": 1.50, "huge": ${THIRTY_DIGITS}, "tiny": ${LONG_DECIMAL} },
  "limits": { "maxBytes": ${MAX_BIGINT}, "maxUsers": 5 },
  "initialData": [
    { "table": "docbasket", "rows": [{ "id": ${MAX_BIGINT}, "basket_ref": "B-1", "partner_code": "P", "direction": "inbound" }] },
    { "table": "document", "rows": [{ "id": 1, "basket_id": ${MAX_BIGINT}, "document_type": "invoice", "file_name": "a.pdf", "file_size": ${PAST_2_53} }] }
  ]
}`;

describe.each(testBackends())(
  'numbers in a template are kept exactly through the API on $name',
  (backend) => {
    let t: TestDatabase;
    let api: ApiServer;
    let templateId: string;
    const post = (path: string, body: string) =>
      fetch(`${api.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });

    beforeAll(async () => {
      t = await backend.open();
      api = await startTestApi(t.db);
    });
    afterAll(async () => {
      await api?.close();
      await t?.close();
    });

    it('stores and answers a template with limits, settings and rows past 2^53 as they were sent', async () => {
      const res = await post('/templates', templateBody);
      const text = await res.text();
      expect(res.status, text).toBe(201);
      templateId = (parseJsonLossless(text) as { templateId: string }).templateId;
      for (const answer of [text, await (await fetch(`${api.url}/templates/${templateId}`)).text()]) {
        expect(answer).toContain(`"maxBytes":${MAX_BIGINT}`);
        expect(answer).toContain(`"huge":${THIRTY_DIGITS}`);
        expect(answer).toContain(`"tiny":${LONG_DECIMAL}`);
        expect(answer).toContain(`"basket_id":${MAX_BIGINT}`);
        expect(answer).toContain(`"file_size":${PAST_2_53}`);
      }
    });

    it('provisions a tenant whose limits, settings and initial rows are exact', async () => {
      const started = await post(
        `/templates/${templateId}/provision`,
        JSON.stringify({ tenantId: 'exact-numbers', displayName: 'Exact Numbers' }),
      );
      expect(started.status, await started.clone().text()).toBe(202);
      const { executionName } = (await started.json()) as StartedExecutionResponse;
      const run = await finished(new ApiClient(api.url), executionName);
      expect(run.status, JSON.stringify(run.error)).toBe('SUCCEEDED');

      const tenant = await (await fetch(`${api.url}/tenants/exact-numbers`)).text();
      expect(tenant).toContain(`"maxBytes":${MAX_BIGINT}`);
      expect(tenant).toContain(`"huge":${THIRTY_DIGITS}`);
      expect(tenant).toContain(`"tiny":${LONG_DECIMAL}`);
      const { rows } = await t.db.query<{ basket: string; size: string }>(
        'SELECT b.id::text AS basket, d.file_size::text AS size FROM tenant_exact_numbers.docbasket b JOIN tenant_exact_numbers.document d ON d.basket_id = b.id',
      );
      expect(rows).toEqual([{ basket: MAX_BIGINT, size: PAST_2_53 }]);
    });

    it('refuses a number no field can hold with a 400 naming the field, not a rounded value', async () => {
      const cases: [string, string][] = [
        [
          templateBody.replace('"blueprintVersion": 1', `"blueprintVersion": ${MAX_BIGINT}`),
          'blueprintVersion',
        ],
        [templateBody.replace('"maxUsers": 5', '"maxUsers": -9223372036854775809'), 'limits.maxUsers'],
        [templateBody.replace('"maxUsers": 5', `"maxUsers": ${LONG_DECIMAL}`), 'limits.maxUsers'],
      ];
      for (const [body, field] of cases) {
        const res = await post('/templates', body.replace('"Exact Numbers"', '"Refused Numbers"'));
        const problem = (await res.json()) as { status: number; errors?: { field: string }[] };
        expect(res.status, field).toBe(400);
        expect(problem.errors?.map((e) => e.field)).toContain(field);
      }
      // A number a double holds exactly is a number, however it is written.
      const written = await post(
        '/templates',
        templateBody
          .replace('"Exact Numbers"', '"Plain Numbers"')
          .replace('"blueprintVersion": 1', '"blueprintVersion": 1.0')
          .replace(/"id": 9223372036854775807/, '"id": 7')
          .replace(/"basket_id": 9223372036854775807/, '"basket_id": 7'),
      );
      expect(written.status, await written.clone().text()).toBe(201);
      expect(await written.text()).toMatch(/"blueprintVersion":1[,}]/);
    });
  },
);
