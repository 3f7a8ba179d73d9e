import type { TemplateDefinitionInput } from './schema';

/**
 * Version 1 of the default templates, installed with the control schema (control migration 3).
 * Change them through a template update (a new version), never by editing this file: tenants record
 * the version they were made from.
 */
const BASIC_FEATURES = {
  'features.inventory': true,
  'features.contracts': true,
  'features.deliveries': true,
  'features.reports': true,
  'features.mobile': true,
};

const SCHOOL_ADMIN = {
  description: 'The first administrator, with the admin role; must change the password at first login.',
  rows: [
    {
      table: 'users',
      rows: [
        {
          id: 1,
          email: '{{admin.email}}',
          first_name: '{{admin.name}}',
          password_hash: '{{admin.passwordHash}}',
          status: 'active',
          must_change_password: true,
        },
      ],
    },
    { table: 'user_roles', rows: [{ id: 1, user_id: 1, role_id: 1 }] },
  ],
};

/** Schools and each school's current academic session, in foreign-key order. */
function academicYear(schoolIds: number[]) {
  return [
    {
      table: 'schools',
      rows: schoolIds.map((id) => ({ id, code: `SCH-${String(id).padStart(3, '0')}`, name: `School ${id}` })),
    },
    {
      table: 'academic_sessions',
      rows: schoolIds.map((id) => ({
        id,
        school_id: id,
        name: '2026-2027',
        start_date: '2026-04-01',
        end_date: '2027-03-31',
        is_current: true,
      })),
    },
  ];
}

export const DEFAULT_TEMPLATES: readonly TemplateDefinitionInput[] = [
  {
    name: 'Basic School System',
    description:
      'One school or a small group: core modules with inventory, contracts, deliveries, reports and mobile.',
    category: 'basic',
    blueprint: 'school-erp',
    blueprintVersion: 1,
    settings: { ...BASIC_FEATURES, 'features.analytics': false, 'features.integrations': false },
    limits: { maxUsers: 50, maxSchools: 10, maxProducts: 500, maxStorageGb: 10 },
    initialData: academicYear([1]),
    adminUser: SCHOOL_ADMIN,
  },
  {
    name: 'School District',
    description: 'A district running many schools: every basic feature plus analytics.',
    category: 'school_district',
    blueprint: 'school-erp',
    blueprintVersion: 1,
    settings: { ...BASIC_FEATURES, 'features.analytics': true, 'features.integrations': false },
    limits: { maxUsers: 200, maxSchools: 50, maxProducts: 2000, maxStorageGb: 100 },
    initialData: academicYear([1, 2, 3]),
    adminUser: SCHOOL_ADMIN,
  },
  {
    name: 'Municipality',
    description: 'A municipality with schools and services: every feature, including integrations.',
    category: 'municipality',
    blueprint: 'school-erp',
    blueprintVersion: 1,
    settings: { ...BASIC_FEATURES, 'features.analytics': true, 'features.integrations': true },
    limits: { maxUsers: 500, maxSchools: 200, maxProducts: 5000, maxStorageGb: 500 },
    initialData: academicYear([1, 2, 3, 4, 5]),
    adminUser: SCHOOL_ADMIN,
  },
];
