import { randomUUID } from 'node:crypto';
import type { BlueprintCatalog, SeedTable } from '../blueprint';
import { ConflictError, DatabaseError, NotFoundError, ValidationError } from '../errors';
import { quoteIdent } from '../identifiers';
import { jsonbText } from '../json';
import { ensureControlSchema } from '../registry/control';
import type { SqlClient, SqlTransaction } from '../sql/port';
import { assertStorableJson, parseOrThrow } from '../validation';
import { fillAdminRows, SAMPLE_ADMIN } from './admin';
import {
  type TemplateDefinition,
  type TemplateDefinitionInput,
  TemplateDefinitionSchema,
  templateIdFor,
} from './schema';

export type TemplateStatus = 'active' | 'archived' | 'deleted';

export interface TemplateRecord {
  readonly templateId: string;
  readonly name: string;
  readonly category: string;
  readonly status: TemplateStatus;
  readonly currentVersion: number;
  readonly definition: TemplateDefinition;
  readonly tenants: number;
  readonly createdAt: string;
  readonly updatedAt: string;
}

export interface TemplateVersion {
  readonly templateId: string;
  readonly version: number;
  readonly definition: TemplateDefinition;
  readonly createdBy: string;
  readonly createdAt: string;
}

const iso = (v: unknown) => new Date(v as string).toISOString();

class Rollback extends Error {}

/**
 * Proves a template can provision a tenant before it is saved: in a transaction that is rolled
 * back, its blueprint version's migrations, the blueprint seed, the admin rows (with sample values)
 * and the initial data are applied to a scratch schema. A constraint the data breaks is reported
 * on the field that holds it, so no tenant ever starts from a broken template.
 */
export async function dryRunTemplate(
  db: SqlClient,
  blueprints: BlueprintCatalog,
  t: TemplateDefinition,
): Promise<void> {
  const blueprint = blueprints.get(t.blueprint);
  if (t.blueprintVersion > blueprint.version || !blueprint.lock[String(t.blueprintVersion)]) {
    throw new ValidationError([
      {
        field: 'blueprintVersion',
        reason: `blueprint ${t.blueprint} has no locked version ${t.blueprintVersion}`,
      },
    ]);
  }
  const scratch = `_tenantry_template_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
  // The very function Seed, CreateAdminUser and LoadInitialData call: one table at a time, so a
  // failure names the table that holds the bad row.
  const insert = async (tx: SqlTransaction, tables: readonly SeedTable[], field: string) => {
    for (const [i, table] of tables.entries()) {
      let inserted: number;
      try {
        await tx.query(`SAVEPOINT tenantry_template_check`);
        const { rows } = await tx.query<{ inserted: Record<string, number | string> }>(
          `SELECT tenantry.insert_rows($1, $2::jsonb) AS inserted`,
          [scratch, JSON.stringify([table])],
        );
        inserted = Number(rows[0]?.inserted[table.table] ?? 0);
        await tx.query(`RELEASE SAVEPOINT tenantry_template_check`);
      } catch (error) {
        const reason = error instanceof DatabaseError ? error.message : String(error);
        throw new ValidationError([{ field: `${field}[${i}] (${table.table})`, reason }], { cause: error });
      }
      // Provisioning skips a row whose unique key is taken; on a fresh schema that is a defect.
      if (inserted < table.rows.length) {
        throw new ValidationError([
          {
            field: `${field}[${i}] (${table.table})`,
            reason: `${table.rows.length - inserted} of ${table.rows.length} rows would be skipped as a duplicate key of rows before them`,
          },
        ]);
      }
    }
  };
  await ensureControlSchema(db);
  try {
    await db.transaction(async (tx) => {
      await tx.script([`CREATE SCHEMA ${quoteIdent(scratch)}`]);
      await tx.query(`SELECT set_config('search_path', $1, true)`, [quoteIdent(scratch)]);
      for (const m of blueprint.migrations) if (m.version <= t.blueprintVersion) await tx.script([m.sql]);
      await insert(tx, blueprint.seed, 'blueprint seed');
      if (t.adminUser) await insert(tx, fillAdminRows(t.adminUser.rows, SAMPLE_ADMIN), 'adminUser.rows');
      await insert(tx, t.initialData, 'initialData');
      throw new Rollback();
    });
  } catch (error) {
    if (!(error instanceof Rollback)) throw error;
  }
}

/**
 * A stored definition, read as jsonb text and parsed exactly: a limit past 2^53 or a bigint in the
 * initial rows reaches the tenant as it was sent (a jsonb value parsed by the driver would round it).
 */
function definitionOf(text: unknown): TemplateDefinition {
  return jsonbText<TemplateDefinition>(text, {} as TemplateDefinition);
}

function toRecord(r: Record<string, unknown>): TemplateRecord {
  return {
    templateId: r.template_id as string,
    name: r.name as string,
    category: r.category as string,
    status: r.status as TemplateStatus,
    currentVersion: r.current_version as number,
    definition: definitionOf(r.definition),
    tenants: Number(r.tenants ?? 0),
    createdAt: iso(r.created_at),
    updatedAt: iso(r.updated_at),
  };
}

const SELECT_TEMPLATE = `
  SELECT t.template_id, t.name, t.category, t.status, t.current_version, v.definition::text AS definition, t.created_at, t.updated_at,
         (SELECT count(*) FROM tenantry.tenants n WHERE n.template_id = t.template_id
            AND n.status NOT IN ('failed', 'cancelled', 'deprovisioned')) AS tenants
    FROM tenantry.templates t
    JOIN tenantry.template_versions v ON v.template_id = t.template_id AND v.version = t.current_version`;

export class TemplateStore {
  constructor(
    private readonly db: SqlClient,
    private readonly blueprints: BlueprintCatalog,
  ) {}

  async list(options: { includeArchived?: boolean } = {}): Promise<TemplateRecord[]> {
    await ensureControlSchema(this.db);
    const { rows } = await this.db.query(
      `${SELECT_TEMPLATE} WHERE t.status = 'active' OR ($1 AND t.status = 'archived') ORDER BY t.name`,
      [options.includeArchived ?? false],
    );
    return rows.map(toRecord);
  }

  /** By id or by name; a deleted template is not found. */
  async get(idOrName: string): Promise<TemplateRecord> {
    await ensureControlSchema(this.db);
    const { rows } = await this.db.query(
      `${SELECT_TEMPLATE} WHERE (t.template_id = $1 OR t.name = $1) AND t.status <> 'deleted'`,
      [idOrName],
    );
    const row = rows[0];
    if (!row) throw new NotFoundError(`no template '${idOrName}'`);
    return toRecord(row);
  }

  async version(templateId: string, version: number): Promise<TemplateVersion> {
    await ensureControlSchema(this.db);
    const { rows } = await this.db.query(
      'SELECT template_id, version, definition::text AS definition, created_by, created_at FROM tenantry.template_versions WHERE template_id = $1 AND version = $2',
      [templateId, version],
    );
    const r = rows[0];
    if (!r) throw new NotFoundError(`template '${templateId}' has no version ${version}`);
    return {
      templateId: r.template_id as string,
      version: r.version as number,
      definition: definitionOf(r.definition),
      createdBy: r.created_by as string,
      createdAt: iso(r.created_at),
    };
  }

  async versions(idOrName: string): Promise<TemplateVersion[]> {
    const template = await this.get(idOrName);
    const { rows } = await this.db.query(
      'SELECT template_id, version, definition::text AS definition, created_by, created_at FROM tenantry.template_versions WHERE template_id = $1 ORDER BY version',
      [template.templateId],
    );
    return rows.map((r) => ({
      templateId: r.template_id as string,
      version: r.version as number,
      definition: definitionOf(r.definition),
      createdBy: r.created_by as string,
      createdAt: iso(r.created_at),
    }));
  }

  /** Validates, dry-runs, and saves version 1. A taken name is a conflict. */
  async create(input: TemplateDefinitionInput, actor: string): Promise<TemplateRecord> {
    assertStorableJson(input);
    const definition = parseOrThrow(TemplateDefinitionSchema, input);
    const templateId = templateIdFor(definition.name);
    if (!templateId) throw new ValidationError([{ field: 'name', reason: 'must contain letters or digits' }]);
    await ensureControlSchema(this.db);
    await dryRunTemplate(this.db, this.blueprints, definition);
    await this.db.transaction(async (tx) => {
      const taken = await tx.query(
        'SELECT 1 FROM tenantry.templates WHERE template_id = $1 OR name = $2 FOR UPDATE',
        [templateId, definition.name],
      );
      if (taken.rows.length > 0)
        throw new ConflictError(`a template named '${definition.name}' already exists`, { field: 'name' });
      await tx.query(
        'INSERT INTO tenantry.templates (template_id, name, category, current_version) VALUES ($1, $2, $3, 1)',
        [templateId, definition.name, definition.category],
      );
      await tx.query(
        'INSERT INTO tenantry.template_versions (template_id, version, definition, created_by) VALUES ($1, 1, $2::jsonb, $3)',
        [templateId, JSON.stringify(definition), actor],
      );
    });
    return this.get(templateId);
  }

  /** A new immutable version; tenants made from earlier versions keep theirs. The name cannot change. */
  async update(idOrName: string, input: TemplateDefinitionInput, actor: string): Promise<TemplateRecord> {
    const current = await this.get(idOrName);
    assertStorableJson(input);
    const definition = parseOrThrow(TemplateDefinitionSchema, input);
    if (definition.name !== current.name) {
      throw new ValidationError([
        { field: 'name', reason: `a template's name cannot change (it is '${current.name}')` },
      ]);
    }
    if (current.status !== 'active')
      throw new ConflictError(`template '${current.name}' is ${current.status}`);
    await dryRunTemplate(this.db, this.blueprints, definition);
    await this.db.transaction(async (tx) => {
      const { rows } = await tx.query<{ current_version: number }>(
        'SELECT current_version FROM tenantry.templates WHERE template_id = $1 FOR UPDATE',
        [current.templateId],
      );
      const next = (rows[0]?.current_version ?? 0) + 1;
      await tx.query(
        'INSERT INTO tenantry.template_versions (template_id, version, definition, created_by) VALUES ($1, $2, $3::jsonb, $4)',
        [current.templateId, next, JSON.stringify(definition), actor],
      );
      await tx.query(
        'UPDATE tenantry.templates SET current_version = $2, category = $3, updated_at = now() WHERE template_id = $1',
        [current.templateId, next, definition.category],
      );
    });
    return this.get(current.templateId);
  }

  async archive(idOrName: string): Promise<TemplateRecord> {
    const current = await this.get(idOrName);
    await this.db.query(
      "UPDATE tenantry.templates SET status = 'archived', updated_at = now() WHERE template_id = $1",
      [current.templateId],
    );
    return this.get(current.templateId);
  }

  /**
   * Deletes a template: refused while tenants use it, unless it was archived first. Its versions
   * stay (tenants record the version they were made from); it just stops being listed or usable.
   */
  async delete(idOrName: string): Promise<void> {
    const current = await this.get(idOrName);
    if (current.tenants > 0 && current.status !== 'archived') {
      throw new ConflictError(
        `template '${current.name}' is used by ${current.tenants} tenant(s): archive it before deleting it`,
      );
    }
    await this.db.query(
      "UPDATE tenantry.templates SET status = 'deleted', updated_at = now() WHERE template_id = $1",
      [current.templateId],
    );
  }
}
