import { createHash } from 'node:crypto';
import type { SqlExecutor } from './sql/port';

/**
 * A catalog fingerprint of one schema: one sorted line per object, with the schema's own name
 * removed, so that two tenants of one blueprint version (on Postgres 15 or PGlite's 18) give the
 * same lines. Each line is `<kind> <name> <details>`; `<kind> <name>` is the object's key
 * (catalogKey), which pairs a missing and an unexpected line into a change.
 *
 * - `table t [unlogged] [with (...)] [partition by ...] [partition of p ...] [inherits p, q] [rls] [force rls]`
 * - `column t.c <type> [not null] [identity ...] [generated ...] [default ...]`
 * - `constraint t.name <definition>` (NO INHERIT, NOT VALID and deferrability included)
 * - `index t.name <definition>`
 * - `trigger t.name <definition> [disabled|enable replica|enable always]`
 * - `rule t.name <definition> [disabled|...]`, `policy t.name for <cmd> <permissive|restrictive> to <roles> ...`
 * - `sequence s as <type> start .. increment .. min .. max .. cache .. [cycle] [owned by t.c]`
 * - `view v [with (...)] as <query>`, `matview v ...`
 * - `function f(<args>) returns <type> language <l> <volatility> [strict] security <definer|invoker>
 *    [leakproof] parallel <p> [set <name=value> ...] body <md5>` (also `procedure`, `aggregate`)
 * - `enum e (...)`, `domain d ...`, `type t (<attributes>)`, `range r ...`
 * - `grant <object>@<grantee> <privileges>`: only where an ACL differs from what the object got
 *   when it was created (its owner's default, plus the owner's ALTER DEFAULT PRIVILEGES): a
 *   granted privilege, or `-PRIVILEGE` for one revoked. The owner reads `<owner>` and the tenant
 *   schema `<schema>`, whoever provisions (postgres on PGlite, another role on a server, the Data
 *   API's). MAINTAIN (Postgres 17+) is left out so that an 18 lock verifies on 15. The grants to the
 *   schema's own role (tenant_role.sql) are left out too: Tenantry makes them at each migration run
 *   (grant_tenant_role.sql), the blueprint cannot (it may not GRANT), and a lock's scratch schema
 *   has such a role only when the blueprint declares SECURITY DEFINER routines.
 *
 * Read in one statement that never scans a whole catalog: it starts from the schema's OID, finds
 * the schema's objects through pg_depend's index on the referenced object (each table, view,
 * sequence, type and function depends on its namespace), and reaches everything else by indexed
 * lookups on their OIDs. Every lookup is a LATERAL subquery fenced with OFFSET 0, so the planner
 * cannot turn it into a hash join over a whole catalog, whatever its statistics say: the read
 * costs the tenant's size, not the fleet's. Tenantry's own ledger table is left out.
 */
export const CATALOG_SQL = `
WITH ns AS MATERIALIZED (
  -- A syscache lookup by name: no scan of pg_namespace, however many schemas there are.
  SELECT n.oid FROM (SELECT to_regnamespace(quote_ident($1))::oid AS oid) n WHERE n.oid IS NOT NULL
),
objs AS MATERIALIZED (
  SELECT DISTINCT d.classid, d.objid
    FROM ns, LATERAL (SELECT classid, objid FROM pg_depend
                       WHERE refclassid = 'pg_namespace'::regclass AND refobjid = ns.oid AND deptype = 'n'
                      OFFSET 0) d
),
rels AS MATERIALIZED (
  SELECT c.oid, c.relname, c.relkind, c.relowner, c.relacl, c.relrowsecurity, c.relforcerowsecurity,
         c.relpersistence, c.reloptions, c.relispartition, c.relnamespace, quote_ident(c.relname) AS qname
    FROM objs o, LATERAL (SELECT * FROM pg_class WHERE oid = o.objid OFFSET 0) c
   WHERE o.classid = 'pg_class'::regclass
     AND c.relkind IN ('r', 'p', 'v', 'm', 'S') AND c.relname NOT LIKE '\\_tenantry%'
),
types AS MATERIALIZED (
  SELECT t.oid, t.typname, t.typtype, t.typowner, t.typacl, t.typbasetype, t.typtypmod, t.typnotnull,
         t.typdefault, t.typrelid, t.typnamespace, quote_ident(t.typname) AS qname
    FROM objs o, LATERAL (SELECT * FROM pg_type WHERE oid = o.objid OFFSET 0) t
   WHERE o.classid = 'pg_type'::regclass AND t.typtype IN ('e', 'd', 'c', 'r')
),
procs AS MATERIALIZED (
  SELECT p.oid, p.proname, p.prokind, p.prolang, p.provolatile, p.proisstrict, p.prosecdef, p.proleakproof,
         p.proparallel, p.proconfig, p.proowner, p.proacl, p.prosrc, p.prosqlbody IS NOT NULL AS sqlbody,
         p.pronamespace,
         quote_ident(p.proname) || '(' || pg_get_function_identity_arguments(p.oid) || ')' AS qname
    FROM objs o, LATERAL (SELECT * FROM pg_proc WHERE oid = o.objid OFFSET 0) p
   WHERE o.classid = 'pg_proc'::regclass
     -- A range type's constructors belong to the type (an internal dependency), not to the blueprint.
     AND NOT EXISTS (SELECT 1 FROM pg_depend dd
                      WHERE dd.classid = 'pg_proc'::regclass AND dd.objid = p.oid AND dd.deptype = 'i')
),
-- What an object's ACL was when it was made: its owner's default, replaced by the owner's
-- database-wide default privileges and extended by those for the schema (as Postgres does).
acls AS (
  SELECT r.qname AS object, r.relacl AS acl, r.relowner AS owner,
         CASE r.relkind WHEN 'S' THEN 's' ELSE 'r' END::"char" AS kind,
         CASE r.relkind WHEN 'S' THEN 'S' ELSE 'r' END::"char" AS defkind, r.relnamespace AS nsp
    FROM rels r
  UNION ALL
  SELECT p.qname, p.proacl, p.proowner, 'f', 'f', p.pronamespace FROM procs p
  UNION ALL
  SELECT t.qname, t.typacl, t.typowner, 'T', 'T', t.typnamespace FROM types t
),
grants AS (
  SELECT a.object, a.owner, g.grantee, g.privilege, g.sign
    FROM acls a, LATERAL (
      SELECT coalesce((SELECT defaclacl FROM pg_default_acl
                        WHERE defaclrole = a.owner AND defaclnamespace = 0 AND defaclobjtype = a.defkind),
                      acldefault(a.kind, a.owner))
             || coalesce((SELECT defaclacl FROM pg_default_acl
                           WHERE defaclrole = a.owner AND defaclnamespace = a.nsp AND defaclobjtype = a.defkind),
                         '{}'::aclitem[]) AS made
    ) m, LATERAL (
      SELECT x.grantee, x.privilege, '+' AS sign FROM (
        SELECT e.grantee, e.privilege_type || CASE WHEN e.is_grantable THEN '*' ELSE '' END AS privilege
          FROM aclexplode(coalesce(a.acl, m.made)) e
        EXCEPT
        SELECT e.grantee, e.privilege_type || CASE WHEN e.is_grantable THEN '*' ELSE '' END
          FROM aclexplode(m.made) e) x
      UNION ALL
      SELECT x.grantee, x.privilege, '-' FROM (
        SELECT e.grantee, e.privilege_type || CASE WHEN e.is_grantable THEN '*' ELSE '' END AS privilege
          FROM aclexplode(m.made) e
        EXCEPT
        SELECT e.grantee, e.privilege_type || CASE WHEN e.is_grantable THEN '*' ELSE '' END
          FROM aclexplode(coalesce(a.acl, m.made)) e) x
    ) g
   WHERE a.acl IS NOT NULL AND g.privilege NOT LIKE 'MAINTAIN%'
  UNION ALL
  -- Column privileges: a column has none until one is granted.
  SELECT r.qname || '.' || quote_ident(att.attname), r.relowner, e.grantee,
         e.privilege_type || CASE WHEN e.is_grantable THEN '*' ELSE '' END, '+'
    FROM rels r,
         LATERAL (SELECT attname, attacl FROM pg_attribute
                   WHERE attrelid = r.oid AND attnum > 0 AND NOT attisdropped AND attacl IS NOT NULL OFFSET 0) att,
         LATERAL aclexplode(att.attacl) e
)
SELECT line, body, hashed FROM (
  SELECT CASE r.relkind WHEN 'S' THEN 'sequence ' WHEN 'v' THEN 'view ' WHEN 'm' THEN 'matview ' ELSE 'table ' END
         || r.qname
         || CASE WHEN r.relpersistence = 'u' THEN ' unlogged' ELSE '' END
         || coalesce(' with (' || array_to_string(r.reloptions, ', ') || ')', '')
         || CASE WHEN r.relkind = 'p' THEN ' partition by ' || pg_get_partkeydef(r.oid) ELSE '' END
         || coalesce(inh.parents, '')
         || CASE WHEN r.relrowsecurity THEN ' rls' ELSE '' END
         || CASE WHEN r.relforcerowsecurity THEN ' force rls' ELSE '' END
         || coalesce(seq.params, '') AS line,
         CASE WHEN r.relkind IN ('v', 'm') THEN pg_get_viewdef(r.oid) END AS body, false AS hashed
    FROM rels r
    LEFT JOIN LATERAL (
      SELECT CASE WHEN r.relispartition
                  THEN ' partition of ' || string_agg(i.inhparent::regclass::text, ', ')
                       || ' ' || pg_get_expr((SELECT relpartbound FROM pg_class WHERE oid = r.oid), r.oid)
                  ELSE ' inherits ' || string_agg(i.inhparent::regclass::text, ', ' ORDER BY i.inhseqno) END AS parents
        FROM (SELECT inhparent, inhseqno FROM pg_inherits WHERE inhrelid = r.oid OFFSET 0) i
      HAVING count(*) > 0
    ) inh ON true
    LEFT JOIN LATERAL (
      SELECT ' as ' || format_type(s.seqtypid, NULL) || ' start ' || s.seqstart || ' increment ' || s.seqincrement
             || ' min ' || s.seqmin || ' max ' || s.seqmax || ' cache ' || s.seqcache
             || CASE WHEN s.seqcycle THEN ' cycle' ELSE '' END
             || coalesce((SELECT ' owned by ' || d.refobjid::regclass::text || '.' || quote_ident(a.attname)
                            FROM pg_depend d
                            JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
                           WHERE d.classid = 'pg_class'::regclass AND d.objid = r.oid AND d.objsubid = 0
                             AND d.refclassid = 'pg_class'::regclass AND d.refobjsubid > 0
                             AND d.deptype IN ('a', 'i')
                           LIMIT 1), '') AS params
        FROM (SELECT * FROM pg_sequence WHERE seqrelid = r.oid OFFSET 0) s
    ) seq ON r.relkind = 'S'
  UNION ALL
  SELECT 'column ' || r.qname || '.' || quote_ident(a.attname) || ' ' || format_type(a.atttypid, a.atttypmod)
         || CASE WHEN a.attnotnull THEN ' not null' ELSE '' END
         || CASE a.attidentity WHEN 'a' THEN ' identity always' WHEN 'd' THEN ' identity by default' ELSE '' END
         || CASE a.attgenerated WHEN 's' THEN ' generated' WHEN 'v' THEN ' generated virtual' ELSE '' END
         || coalesce(' default ' || pg_get_expr(d.adbin, d.adrelid), ''), NULL, false
    FROM rels r,
         LATERAL (SELECT * FROM pg_attribute WHERE attrelid = r.oid AND attnum > 0 AND NOT attisdropped OFFSET 0) a
    LEFT JOIN LATERAL (SELECT adbin, adrelid FROM pg_attrdef WHERE adrelid = a.attrelid AND adnum = a.attnum OFFSET 0) d
      ON true
   WHERE r.relkind NOT IN ('S')
  UNION ALL
  SELECT 'constraint ' || r.qname || '.' || quote_ident(con.conname) || ' ' || pg_get_constraintdef(con.oid), NULL, false
    FROM rels r,
         LATERAL (SELECT oid, conname FROM pg_constraint
                   WHERE conrelid = r.oid AND contype IN ('p', 'u', 'f', 'c', 'x') OFFSET 0) con
  UNION ALL
  SELECT 'index ' || r.qname || '.' || quote_ident(i.relname) || ' ' || pg_get_indexdef(i.oid), NULL, false
    FROM rels r,
         LATERAL (SELECT indexrelid FROM pg_index WHERE indrelid = r.oid OFFSET 0) x,
         LATERAL (SELECT oid, relname FROM pg_class WHERE oid = x.indexrelid OFFSET 0) i
  UNION ALL
  SELECT 'trigger ' || r.qname || '.' || quote_ident(t.tgname) || ' ' || pg_get_triggerdef(t.oid)
         || CASE t.tgenabled WHEN 'D' THEN ' disabled' WHEN 'R' THEN ' enable replica' WHEN 'A' THEN ' enable always' ELSE '' END,
         NULL, false
    FROM rels r,
         LATERAL (SELECT oid, tgname, tgenabled FROM pg_trigger WHERE tgrelid = r.oid AND NOT tgisinternal OFFSET 0) t
  UNION ALL
  SELECT 'rule ' || r.qname || '.' || quote_ident(w.rulename) || ' ' || pg_get_ruledef(w.oid)
         || CASE w.ev_enabled WHEN 'D' THEN ' disabled' WHEN 'R' THEN ' enable replica' WHEN 'A' THEN ' enable always' ELSE '' END,
         NULL, false
    FROM rels r,
         LATERAL (SELECT oid, rulename, ev_enabled FROM pg_rewrite
                   WHERE ev_class = r.oid AND rulename <> '_RETURN' OFFSET 0) w
  UNION ALL
  SELECT 'policy ' || r.qname || '.' || quote_ident(pol.polname)
         || ' for ' || CASE pol.polcmd WHEN 'r' THEN 'select' WHEN 'a' THEN 'insert' WHEN 'w' THEN 'update'
                                       WHEN 'd' THEN 'delete' ELSE 'all' END
         || CASE WHEN pol.polpermissive THEN ' permissive' ELSE ' restrictive' END
         || ' to ' || (SELECT string_agg(CASE WHEN g = 0 THEN 'public' WHEN g = r.relowner THEN '<owner>'
                                             ELSE quote_ident(pg_get_userbyid(g)) END, ', ' ORDER BY 1)
                         FROM unnest(pol.polroles) g)
         || coalesce(' using (' || pg_get_expr(pol.polqual, pol.polrelid) || ')', '')
         || coalesce(' with check (' || pg_get_expr(pol.polwithcheck, pol.polrelid) || ')', ''),
         NULL, false
    FROM rels r,
         LATERAL (SELECT * FROM pg_policy WHERE polrelid = r.oid OFFSET 0) pol
  UNION ALL
  SELECT CASE p.prokind WHEN 'p' THEN 'procedure ' WHEN 'a' THEN 'aggregate ' ELSE 'function ' END || p.qname
         || CASE p.prokind WHEN 'p' THEN '' ELSE ' returns ' || pg_get_function_result(p.oid) END
         || CASE p.prokind WHEN 'w' THEN ' window' ELSE '' END
         || ' language ' || (SELECT lanname FROM pg_language WHERE oid = p.prolang)
         || CASE p.provolatile WHEN 'i' THEN ' immutable' WHEN 's' THEN ' stable' ELSE ' volatile' END
         || CASE WHEN p.proisstrict THEN ' strict' ELSE '' END
         || CASE WHEN p.prosecdef THEN ' security definer' ELSE ' security invoker' END
         || CASE WHEN p.proleakproof THEN ' leakproof' ELSE '' END
         || CASE p.proparallel WHEN 's' THEN ' parallel safe' WHEN 'r' THEN ' parallel restricted' ELSE ' parallel unsafe' END
         || coalesce((SELECT ' set ' || string_agg(c, ' set ' ORDER BY c) FROM unnest(p.proconfig) c), '')
         || CASE WHEN p.prokind = 'a' THEN coalesce((
              SELECT ' sfunc ' || ag.aggtransfn::regproc::text || ' stype ' || format_type(ag.aggtranstype, NULL)
                     || CASE WHEN ag.aggfinalfn <> 0 THEN ' finalfunc ' || ag.aggfinalfn::regproc::text ELSE '' END
                     || coalesce(' initcond ' || ag.agginitval, '')
                FROM pg_aggregate ag WHERE ag.aggfnoid = p.oid), '') ELSE '' END,
         CASE WHEN p.prokind = 'a' THEN NULL WHEN p.sqlbody THEN pg_get_function_sqlbody(p.oid) ELSE p.prosrc END,
         true
    FROM procs p
  UNION ALL
  SELECT CASE t.typtype
           WHEN 'e' THEN 'enum ' || t.qname || ' ('
              || (SELECT string_agg(quote_literal(e.enumlabel), ', ' ORDER BY e.enumsortorder)
                    FROM pg_enum e WHERE e.enumtypid = t.oid) || ')'
           WHEN 'd' THEN 'domain ' || t.qname || ' ' || format_type(t.typbasetype, t.typtypmod)
              || CASE WHEN t.typnotnull THEN ' not null' ELSE '' END
              || coalesce(' default ' || t.typdefault, '')
              -- Through the constraints' dependency on the domain, not pg_constraint.contypid: almost
              -- every row has contypid 0, so the planner would take a lookup by it for a large share
              -- of pg_constraint and scan it whole.
              || coalesce((SELECT ' ' || string_agg(pg_get_constraintdef(dc.oid), ' ' ORDER BY dc.conname)
                             FROM (SELECT objid FROM pg_depend
                                    WHERE refclassid = 'pg_type'::regclass AND refobjid = t.oid
                                      AND classid = 'pg_constraint'::regclass OFFSET 0) dd,
                                  LATERAL (SELECT oid, conname FROM pg_constraint
                                            WHERE oid = dd.objid AND contypid = t.oid AND contype = 'c' OFFSET 0) dc), '')
           WHEN 'c' THEN 'type ' || t.qname || ' ('
              || (SELECT string_agg(quote_ident(a.attname) || ' ' || format_type(a.atttypid, a.atttypmod), ', ' ORDER BY a.attnum)
                    FROM pg_attribute a WHERE a.attrelid = t.typrelid AND a.attnum > 0 AND NOT a.attisdropped) || ')'
           ELSE 'range ' || t.qname
              || coalesce((SELECT ' subtype ' || format_type(rg.rngsubtype, NULL)
                                  || CASE WHEN rg.rngsubdiff <> 0 THEN ' subtype_diff ' || rg.rngsubdiff::regproc::text ELSE '' END
                             FROM pg_range rg WHERE rg.rngtypid = t.oid), '')
         END, NULL, false
    FROM types t
  UNION ALL
  SELECT 'grant ' || g.object || '@' || CASE WHEN g.grantee = 0 THEN 'public'
                                             WHEN g.grantee = g.owner THEN '<owner>'
                                             ELSE quote_ident(pg_get_userbyid(g.grantee)) END
         || ' ' || string_agg(CASE g.sign WHEN '-' THEN '-' ELSE '' END || g.privilege, ', ' ORDER BY g.sign, g.privilege),
         NULL, false
    FROM grants g
   GROUP BY g.object, g.owner, g.grantee
) lines`;

export interface CatalogFingerprint {
  readonly fingerprint: string;
  readonly objects: readonly string[];
}

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The schema's name cut to at most `bytes` bytes, as the roles' names cut it. */
function bytePrefix(schema: string, bytes: number): string {
  let prefix = schema;
  while (Buffer.byteLength(prefix) > bytes) prefix = prefix.slice(0, -1);
  return prefix;
}

/**
 * A `grant` line (as read, before normalising) whose grantee is the schema's own role: its tenant
 * role (tenant_role.sql: the schema's first 48 bytes, `_role_` and a hash of the database and the
 * schema, so it differs between tenants, databases and the lock's scratch schema), or a definer
 * role left from release 8 and before (40 bytes, `_definer_`, renamed to the tenant role by control
 * migration 0018). Such lines are not part of the catalog.
 */
function tenantRoleGrant(schema: string): RegExp {
  const role = `(?:${escapeRegExp(bytePrefix(schema, 48))}_role_|${escapeRegExp(bytePrefix(schema, 40))}_definer_)`;
  return new RegExp(`^grant .*@"?${role}[0-9a-f]{8}"? `);
}

/** What a lock made before release 9 wrote for a grant to the schema's definer role. */
const DEFINER_GRANT = /^grant .*@<definer> /;

/**
 * A lock entry as the catalog reads today: a lock made before release 9 lists the grants to the
 * schema's definer role (`grant t@<definer> ...`), which are no longer part of the catalog; they
 * are left out, and the fingerprint is computed again over the lines that remain.
 */
export function withoutDefinerGrants<
  T extends { readonly fingerprint: string; readonly objects: readonly string[] },
>(lock: T): T {
  if (!lock.objects.some((line) => DEFINER_GRANT.test(line))) return lock;
  const objects = lock.objects.filter((line) => !DEFINER_GRANT.test(line));
  return { ...lock, objects, fingerprint: fingerprintOf(objects) };
}

/** Normalises one schema's lines; its patterns are built once per catalog read, not per line. */
function normaliser(schema: string): (line: string) => string {
  const name = escapeRegExp(schema);
  // The schema named as a value, as in a function's `SET search_path = <schema>, pg_temp`.
  const asValue = new RegExp(`(?<=[=,] ?)(?:"${name}"|${name})(?=,|$| )`, 'g');
  const quoted = `"${schema}".`;
  const plain = `${schema}.`;
  // Every replacement below needs the schema's name in the line: most lines do not have it, and
  // skip the patterns.
  return (line) => {
    const named = line.includes(schema)
      ? line
          // Names of objects in the schema itself print qualified unless the schema is on search_path.
          .replaceAll(quoted, '')
          .replaceAll(plain, '')
          .replace(asValue, '<schema>')
      : line;
    return named.replace(/\s+/g, ' ').trim();
  };
}

const md5 = (text: string) => createHash('md5').update(text).digest('hex');

export function fingerprintOf(objects: readonly string[]): string {
  return createHash('sha256').update(objects.join('\n')).digest('hex');
}

/**
 * Postgres 16 and later print a query over a single relation with its columns unqualified
 * (`SELECT a FROM t`), 15 qualifies them (`SELECT t.a FROM t`); subqueries are qualified by both.
 * This drops the qualifier from the top-level query of such a view, so that a lock made on PGlite
 * (18) verifies on a 15 server. A view with a set operation at its top, or a join, is left as is.
 */
export function unqualifyView(def: string): string {
  // Mark which characters belong to the top-level query: not in a literal, not in a subquery.
  const top: boolean[] = [];
  const stack: boolean[] = [];
  let inString = false;
  let inIdent = false;
  for (let i = 0; i < def.length; i++) {
    const ch = def[i];
    const atTop = !inString && !inIdent && !stack.includes(true);
    if (inString) {
      if (ch === "'") inString = false;
    } else if (inIdent) {
      if (ch === '"') inIdent = false;
    } else if (ch === "'") inString = true;
    else if (ch === '"') inIdent = true;
    else if (ch === '(') stack.push(/^\s*(SELECT|WITH|VALUES)\b/.test(def.slice(i + 1, i + 20)));
    else if (ch === ')') stack.pop();
    top.push(atTop && ch !== '(' && ch !== ')');
  }
  const topText = [...def].map((ch, i) => (top[i] ? ch : '#')).join('');
  if (/\b(UNION|INTERSECT|EXCEPT)\b/.test(topText)) return def;
  const from =
    /\bFROM ([^;]*?)(?: WHERE | GROUP BY | HAVING | WINDOW | ORDER BY | LIMIT | OFFSET | FETCH |;|$)/.exec(
      topText,
    );
  if (!from?.[1] || /,| JOIN /.test(from[1])) return def;
  const item = from[1].trim().split(' ');
  const qualifier = item[item.length - 1];
  if (!qualifier || qualifier.includes('#')) return def;
  const prefix = `${qualifier}.`;
  let out = '';
  for (let i = 0; i < def.length; i++) {
    const before = i === 0 ? ' ' : (def[i - 1] ?? ' ');
    if (top[i] && def.startsWith(prefix, i) && !/[\w$".]/.test(before) && top[i + prefix.length - 1]) {
      i += prefix.length - 1;
      continue;
    }
    out += def[i];
  }
  return out;
}

export async function readCatalog(db: SqlExecutor, schema: string): Promise<CatalogFingerprint> {
  // Prepared where the backend can: planning this statement costs about a third of running it.
  const { rows } = await db.query<{ line: string; body: string | null; hashed: boolean }>(
    CATALOG_SQL,
    [schema],
    { prepare: 'tenantry_catalog' },
  );
  const normalise = normaliser(schema);
  const ownRole = tenantRoleGrant(schema);
  const objects = rows
    .filter((r) => !(r.line.startsWith('grant ') && ownRole.test(r.line)))
    .map((r) => {
      const line = normalise(r.line);
      if (r.body === null) return line;
      const body = normalise(r.body);
      return r.hashed ? `${line} body ${md5(body)}` : `${line} as ${unqualifyView(body)}`;
    })
    .sort();
  return { fingerprint: fingerprintOf(objects), objects };
}

/**
 * A line's key: its kind and the object's name (`column t.c`, `function f(integer, text)`,
 * `grant t@public`), the name ending at the first space outside parentheses and double quotes.
 */
export function catalogKey(line: string): string {
  const space = line.indexOf(' ');
  if (space < 0) return line;
  let depth = 0;
  let quoted = false;
  for (let i = space + 1; i < line.length; i++) {
    const ch = line[i];
    if (ch === '"') quoted = !quoted;
    else if (!quoted && ch === '(') depth++;
    else if (!quoted && ch === ')') depth = Math.max(0, depth - 1);
    else if (!quoted && depth === 0 && ch === ' ') return line.slice(0, i);
  }
  return line;
}

export interface CatalogChange {
  readonly key: string;
  readonly expected: string;
  readonly actual: string;
}

export interface CatalogDiff {
  /** Expected lines with no line of the same key in the schema. */
  readonly missing: string[];
  /** Lines in the schema with no expected line of the same key. */
  readonly unexpected: string[];
  /** An expected line and the schema's line for the same object, which differ. */
  readonly changed: CatalogChange[];
}

export function diffCatalog(expected: readonly string[], actual: readonly string[]): CatalogDiff {
  const a = new Set(actual);
  const e = new Set(expected);
  const gone = expected.filter((x) => !a.has(x));
  const extra = actual.filter((x) => !e.has(x));
  const extraByKey = new Map<string, string[]>();
  for (const line of extra) {
    const key = catalogKey(line);
    extraByKey.set(key, [...(extraByKey.get(key) ?? []), line]);
  }
  const missing: string[] = [];
  const changed: CatalogChange[] = [];
  const paired = new Set<string>();
  for (const line of gone) {
    const key = catalogKey(line);
    const candidates = extraByKey.get(key);
    const match = candidates?.shift();
    if (match === undefined) missing.push(line);
    else {
      changed.push({ key, expected: line, actual: match });
      paired.add(match);
    }
  }
  return { missing, unexpected: extra.filter((x) => !paired.has(x)), changed };
}
