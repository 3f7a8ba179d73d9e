/** The tenant the backup bench measures: how it is filled, and how a restore is checked against it. */
import { quoteIdent } from '../shared/identifiers';
import type { SqlExecutor } from '../shared/sql/port';

const SUBJECTS = 10;

/** How the N rows are spread over the tables (the rest of the tenant is the blueprint's seed and a few fixed rows). */
export function spread(n: number) {
  const parents = Math.round(n * 0.1);
  const studentParents = Math.round(n * 0.1);
  const marks = Math.round(n * 0.1);
  return { students: n - parents - studentParents - marks, parents, studentParents, marks };
}

/**
 * Fills a fresh school-erp tenant with N rows, set-based: one school and what marks hang on (a
 * session, a class, subjects, an exam and its schedules), then students through their defaults
 * (identity, admission number sequence, status), parents, links and marks (whose trigger assigns
 * the grade). Text, dates, enums and domains vary with the row number.
 */
export async function fill(db: SqlExecutor, schema: string, n: number): Promise<void> {
  const s = spread(n);
  const q = (sql: string) => db.query(sql.replaceAll('$S', quoteIdent(schema)));
  await q(`INSERT INTO $S.schools (code, name, city, country, email, phone)
           VALUES ('BENCH', 'Bench Public School', 'Springfield', 'US', 'office@bench.example', '+1 555 0100')`);
  await q(`INSERT INTO $S.academic_sessions (school_id, name, start_date, end_date, is_current)
           SELECT id, '2026-27', '2026-04-01', '2027-03-31', true FROM $S.schools`);
  await q(
    `INSERT INTO $S.classes (school_id, name, numeric_level) SELECT id, 'Grade 10', 10 FROM $S.schools`,
  );
  await q(`INSERT INTO $S.subjects (school_id, code, name)
           SELECT sc.id, 'SUB' || g, 'Subject ' || g FROM $S.schools sc, generate_series(1, ${SUBJECTS}) g`);
  await q(`INSERT INTO $S.exams (academic_session_id, name, exam_type, start_date, end_date, status)
           SELECT id, 'Finals', 'final', '2027-03-01', '2027-03-15', 'completed' FROM $S.academic_sessions`);
  await q(`INSERT INTO $S.exam_schedules (exam_id, class_id, subject_id, exam_date, max_marks, pass_marks)
           SELECT e.id, c.id, su.id, date '2027-03-01' + (su.id % 14)::int, 100, 33
             FROM $S.exams e, $S.classes c, $S.subjects su`);
  await q(`INSERT INTO $S.students (school_id, first_name, middle_name, last_name, gender, date_of_birth, blood_group,
                                    nationality, email, phone, address_line1, address_line2, city, state, postal_code,
                                    admission_date, status, medical_notes)
           SELECT sc.id,
                  (ARRAY['Aarav','Maya','Liam','Zoe','Noah','Ava','Ethan','Isla','Omar','Priya'])[1 + g % 10] || ' ' || g,
                  CASE WHEN g % 3 = 0 THEN 'Lee' END,
                  (ARRAY['Sharma','Okafor','Garcia','Nguyen','Smith','Kowalski','Haddad','Tanaka'])[1 + g % 8],
                  (enum_range(NULL::$S.gender_type))[1 + g % 4],
                  date '2008-01-01' + (g % 3650),
                  (ARRAY['A+','A-','B+','B-','AB+','AB-','O+','O-'])[1 + g % 8],
                  'Indian',
                  'student' || g || '@bench.example',
                  '+91 98' || lpad((g % 100000000)::text, 8, '0'),
                  g || ' Long Street',
                  CASE WHEN g % 4 = 0 THEN 'Flat ' || (g % 97) END,
                  (ARRAY['Pune','Lagos','Austin','Hanoi','Osaka'])[1 + g % 5],
                  'State ' || (g % 30),
                  lpad((g % 1000000)::text, 6, '0'),
                  date '2020-06-01' + (g % 1500),
                  (enum_range(NULL::$S.student_status))[1 + g % 6],
                  CASE WHEN g % 20 = 0 THEN 'Allergic to peanuts; carries an inhaler' END
             FROM $S.schools sc, generate_series(1, ${s.students}) g`);
  await q(`INSERT INTO $S.parents (first_name, last_name, gender, email, phone, occupation, address)
           SELECT 'Parent ' || g, 'Family ' || (g % 5000), (enum_range(NULL::$S.gender_type))[1 + g % 2],
                  'parent' || g || '@bench.example', '+44 7700 ' || lpad((g % 1000000)::text, 6, '0'),
                  (ARRAY['engineer','teacher','doctor','farmer','artist', NULL])[1 + g % 6],
                  g || ' Park Avenue, Springfield'
             FROM generate_series(1, ${s.parents}) g`);
  await q(`INSERT INTO $S.student_parents (student_id, parent_id, relationship, is_primary_contact)
           SELECT st.first + (g - 1) % ${s.students}, pa.first + (g - 1) % ${s.parents},
                  (ARRAY['father','mother','guardian','grandparent'])[1 + g % 4], g % 2 = 0
             FROM (SELECT min(id) AS first FROM $S.students) st, (SELECT min(id) AS first FROM $S.parents) pa,
                  generate_series(1, ${s.studentParents}) g`);
  await q(`INSERT INTO $S.marks (exam_schedule_id, student_id, marks_obtained, is_absent, remarks)
           SELECT es.first + (g - 1) % ${SUBJECTS}, st.first + (g - 1) / ${SUBJECTS},
                  CASE WHEN g % 50 = 0 THEN NULL ELSE (g * 37 % 10000) / 100.0 END, g % 50 = 0,
                  CASE WHEN g % 7 = 0 THEN 'Good progress' END
             FROM (SELECT min(id) AS first FROM $S.students) st, (SELECT min(id) AS first FROM $S.exam_schedules) es,
                  generate_series(1, ${s.marks}) g`);
}

/** Each table's row count and an md5 over its rows' md5s in key order (ctid order's text for a keyless table). */
export async function digests(db: SqlExecutor, schema: string): Promise<Record<string, string>> {
  const { rows: tables } = await db.query<{ table: string; key: string | null }>(
    `SELECT c.relname AS table,
            (SELECT string_agg('t.' || quote_ident(a.attname), ', ' ORDER BY k.ord)
               FROM pg_index i CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)
               JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
              WHERE i.indrelid = c.oid AND i.indisprimary) AS key
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relkind = 'r' AND c.relname <> '_tenantry_migrations' ORDER BY 1`,
    [schema],
  );
  const out: Record<string, string> = {};
  for (const t of tables) {
    const { rows } = await db.query<{ n: string; md5: string }>(
      `SELECT count(*)::text AS n, md5(coalesce(string_agg(md5(t::text), '' ORDER BY ${t.key ?? 't::text'}), '')) AS md5
         FROM ONLY ${quoteIdent(schema)}.${quoteIdent(t.table)} t`,
    );
    out[t.table] = `${rows[0]?.n} rows, md5 ${rows[0]?.md5}`;
  }
  return out;
}

export const totalRows = (d: Record<string, string>) =>
  Object.values(d).reduce((sum, v) => sum + Number(v.split(' ')[0]), 0);

export function sameDigests(label: string, want: Record<string, string>, got: Record<string, string>): void {
  const names = new Set([...Object.keys(want), ...Object.keys(got)]);
  const off = [...names].filter((t) => want[t] !== got[t]);
  if (off.length > 0) {
    throw new Error(
      `${label} does not match the tenant it came from: ${off
        .slice(0, 5)
        .map((t) => `${t}: ${got[t] ?? 'missing'} instead of ${want[t] ?? 'nothing'}`)
        .join('; ')}`,
    );
  }
}
