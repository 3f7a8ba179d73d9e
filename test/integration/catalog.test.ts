import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BlueprintCatalog } from '../../shared/blueprint';
import { computeBlueprintLock } from '../../shared/blueprint-lock';
import { PgliteClient } from '../../shared/sql/pglite';
import { PostgresClient } from '../../shared/sql/postgres';
import { freshServerDatabase, serverUrl } from '../support/databases';

/**
 * Locks are made on PGlite (Postgres 18) and verified on servers (15 here): every blueprint in the
 * repository and every test fixture must give the same catalog lines on both, view and function
 * definitions included (shared/catalog.ts normalises where the versions print differently).
 */
const shipped = new BlueprintCatalog();
const FIXTURES = fileURLToPath(new URL('../fixtures/blueprints/', import.meta.url));

describe('catalog fingerprint across Postgres versions', () => {
  let root: string;
  let all: BlueprintCatalog;
  let lite: PgliteClient;
  const url = serverUrl();
  let server: PostgresClient | undefined;
  let drop: (() => Promise<void>) | undefined;
  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'tenantry-catalog-'));
    cpSync(FIXTURES, root, { recursive: true });
    all = new BlueprintCatalog(root);
    lite = await PgliteClient.open();
    if (url) {
      const fresh = await freshServerDatabase(url);
      drop = fresh.drop;
      server = new PostgresClient({ connectionString: fresh.url });
    }
  });
  afterAll(async () => {
    await lite?.close();
    await server?.close();
    await drop?.();
    rmSync(root, { recursive: true, force: true });
  });

  it.each(shipped.names())('the committed lock of %s is what PGlite makes today', async (name) => {
    const blueprint = shipped.get(name);
    const made = await computeBlueprintLock(lite, blueprint);
    expect(made.objects).toEqual(blueprint.lock[String(blueprint.version)]?.objects);
    expect(made.fingerprint).toBe(blueprint.lock[String(blueprint.version)]?.fingerprint);
  });

  describe.runIf(url)('on the Postgres server', () => {
    const onServer = () => {
      if (!server) throw new Error('no server');
      return server;
    };

    it.each(shipped.names())('the committed lock of %s is what the server makes', async (name) => {
      const blueprint = shipped.get(name);
      const made = await computeBlueprintLock(onServer(), blueprint);
      expect(made.objects).toEqual(blueprint.lock[String(blueprint.version)]?.objects);
    });

    it('every test fixture gives the same lines on PGlite and on the server', async () => {
      expect(all.names().length).toBeGreaterThanOrEqual(2);
      for (const name of all.names()) {
        const blueprint = all.get(name);
        const [onLite, fromServer] = [
          await computeBlueprintLock(lite, blueprint),
          await computeBlueprintLock(onServer(), blueprint),
        ];
        expect(fromServer.objects, name).toEqual(onLite.objects);
        // The fixtures carry what differs between versions: views, functions, rules, policies.
        if (name === 'drift')
          expect(onLite.objects.map((o) => o.split(' ')[0])).toEqual(
            expect.arrayContaining(['view', 'matview', 'function', 'aggregate', 'rule', 'policy', 'trigger']),
          );
      }
    });
  });
});
