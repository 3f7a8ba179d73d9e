import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clusterImageDir, PgliteClient } from '../../shared/sql/pglite';
import { tempDir } from '../support/temp-dirs';

/** How many tables of that name the cluster has, in any schema. */
async function tablesNamed(db: PgliteClient, name: string): Promise<number | undefined> {
  const { rows } = await db.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM pg_tables WHERE tablename = $1',
    [name],
  );
  return rows[0]?.n;
}

// A new embedded data folder starts from a copy of a pristine cluster, made once (initdb is the
// slow part of a first start); the copy is the image, never what an earlier folder became.
describe('the embedded cluster image', () => {
  const saved = process.env.TENANTRY_CACHE_DIR;
  beforeAll(() => {
    process.env.TENANTRY_CACHE_DIR = tempDir('tenantry-cache-');
  });
  afterAll(() => {
    if (saved === undefined) delete process.env.TENANTRY_CACHE_DIR;
    else process.env.TENANTRY_CACHE_DIR = saved;
  });

  it('is made at first use and seeds every new data folder with a pristine cluster', async () => {
    const image = clusterImageDir();
    expect(existsSync(image)).toBe(false);
    const first = await PgliteClient.open({ dataDir: join(tempDir('tenantry-data-'), 'pgdata') });
    await first.query('CREATE TABLE public.left_behind (id int)');
    await first.close();
    expect(existsSync(join(image, 'PG_VERSION'))).toBe(true);
    // Only the database PGlite opens: no template databases to copy into every new folder.
    expect(readdirSync(join(image, 'base'))).toHaveLength(1);
    // Nothing else of the build is left beside the image.
    expect(readdirSync(join(image, '..'))).toEqual([image.split('/').at(-1)]);

    const dataDir = join(tempDir('tenantry-data-'), 'pgdata');
    const second = await PgliteClient.open({ dataDir });
    try {
      expect(await tablesNamed(second, 'left_behind')).toBe(0);
      const databases = await second.query<{ datname: string }>('SELECT datname FROM pg_database');
      expect(databases.rows.map((r) => r.datname)).toEqual(['postgres']);
      await second.query('CREATE TABLE public.kept (id int)');
    } finally {
      await second.close();
    }
    // A folder that holds a cluster is opened as it is, not seeded again.
    const again = await PgliteClient.open({ dataDir });
    try {
      expect(await tablesNamed(again, 'kept')).toBe(1);
    } finally {
      await again.close();
    }
  });

  it('gives an in-memory cluster the image too, from a dump of it made once beside it', async () => {
    const image = clusterImageDir();
    const first = await PgliteClient.open();
    try {
      const databases = await first.query<{ datname: string }>('SELECT datname FROM pg_database');
      expect(databases.rows.map((r) => r.datname)).toEqual(['postgres']);
      await first.query('CREATE TABLE public.only_here (id int)');
    } finally {
      await first.close();
    }
    expect(existsSync(`${image}.tar`)).toBe(true);
    expect(readdirSync(join(image, '..')).sort()).toEqual(
      [image, `${image}.tar`].map((f) => f.split('/').at(-1)),
    );
    // Each in-memory cluster is a new one.
    const second = await PgliteClient.open();
    try {
      expect(await tablesNamed(second, 'only_here')).toBe(0);
    } finally {
      await second.close();
    }
  });
});
