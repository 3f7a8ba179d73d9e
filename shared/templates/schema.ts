import * as z from 'zod';
import { BLUEPRINT_NAME_PATTERN } from '../blueprint';
import { MAX_IDENTIFIER_BYTES } from '../identifiers';
import { isRawJsonNumber, type RawJsonNumber } from '../json';
import { lazySchema } from '../validation';

/**
 * A template: one kind of customer, captured once. It names the blueprint version it provisions,
 * adds settings (feature flags) and limits, initial rows per table, and how the admin user is made.
 * Templates are versioned: an update makes a new immutable version.
 */
export const TEMPLATE_CATEGORIES = [
  'basic',
  'school_district',
  'municipality',
  'enterprise',
  'custom',
] as const;
export const TemplateCategorySchema = z.enum(TEMPLATE_CATEGORIES);

const IdentifierSchema = lazySchema(() =>
  z
    .string()
    .regex(/^[a-z_][a-z0-9_]*$/, 'must be a lowercase SQL identifier')
    .refine(
      (s) => Buffer.byteLength(s) <= MAX_IDENTIFIER_BYTES,
      `must be at most ${MAX_IDENTIFIER_BYTES} bytes`,
    ),
);

export const TableRowsSchema = lazySchema(() =>
  z.object({
    table: IdentifierSchema,
    rows: z
      .array(
        z
          .record(IdentifierSchema, z.unknown())
          .refine((row) => Object.keys(row).length > 0, 'a row needs at least one column'),
      )
      .min(1, 'needs at least one row'),
  }),
);
export type TableRows = z.infer<typeof TableRowsSchema>;

/**
 * A number sent with more digits than a double holds (2^63 - 1, a 30-digit decimal), kept as the
 * text it was written as (shared/json.ts parseJsonLossless), so it is stored exactly.
 */
const ExactNumberSchema = lazySchema(() =>
  z
    .custom<RawJsonNumber>(isRawJsonNumber, 'must be a number')
    .meta({ type: 'number', description: 'a number with more digits than a double holds, kept exactly' }),
);

/** The same, a whole number of at least 0 (a limit past 2^53). */
const ExactWholeNumberSchema = lazySchema(() =>
  z
    .custom<RawJsonNumber>(
      (v) => isRawJsonNumber(v) && /^\d+$/.test(v.rawJSON),
      'must be a whole number of at least 0',
    )
    .meta({ type: 'integer', minimum: 0, description: 'a whole number past 2^53, kept exactly' }),
);

/** Placeholders an admin row may hold; they are filled in when the tenant is provisioned. */
export const ADMIN_PLACEHOLDERS = ['{{admin.email}}', '{{admin.name}}', '{{admin.passwordHash}}'] as const;

export const TemplateDefinitionSchema = lazySchema(() =>
  z.object({
    name: z.string().trim().min(3, 'must be at least 3 characters').max(100),
    description: z.string().trim().max(2000).default(''),
    category: TemplateCategorySchema,
    blueprint: z.string().regex(BLUEPRINT_NAME_PATTERN, 'must name a blueprint'),
    blueprintVersion: z.number().int().positive(),
    /** Feature flags and other switches apps read. */
    settings: z
      .record(
        z.string().regex(/^[a-z][a-zA-Z0-9_.-]*$/, 'must be a setting key'),
        z.union([z.boolean(), z.number(), ExactNumberSchema, z.string()]),
      )
      .default({}),
    /** Quotas apps enforce: maxUsers, maxSchools, maxProducts, maxStorageGb, ... */
    limits: z
      .record(
        z.string().regex(/^max[A-Z][a-zA-Z]*$/, "must look like 'maxUsers'"),
        z.union([z.number().int().nonnegative(), ExactWholeNumberSchema]),
      )
      .default({}),
    /** Rows per table, in foreign-key order, inserted once (re-running inserts nothing twice). */
    initialData: z.array(TableRowsSchema).default([]),
    /**
     * Every tenant made from this template gets a login of its own: a LOGIN role with exactly its
     * tenant role's rights, its password in a secret (README "Tenant access").
     */
    login: z.boolean().optional(),
    /** The admin user's rows (users, role links, ...) with {{admin.*}} placeholders. */
    adminUser: z
      .object({
        description: z.string().default(''),
        rows: z.array(TableRowsSchema).min(1),
      })
      .optional(),
  }),
);
export type TemplateDefinition = z.infer<typeof TemplateDefinitionSchema>;
/** What a caller sends: defaults not yet applied. */
export type TemplateDefinitionInput = z.input<typeof TemplateDefinitionSchema>;

/** A template id: the name as a slug, e.g. 'basic-school-system'. */
export function templateIdFor(name: string): string {
  return name
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 60);
}

/** The admin user a provisioning request names. Only the hash travels through the workflow. */
export const AdminUserRequestSchema = lazySchema(() =>
  z.object({
    email: z.email('must be an email address').max(254),
    name: z.string().trim().min(1).max(200).default('Administrator'),
    passwordHash: z
      .string()
      .regex(
        /^scrypt\$\d+\$\d+\$\d+\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/,
        'must be a scrypt hash made by Tenantry, never a plain password',
      ),
  }),
);
export type AdminUserRequest = z.infer<typeof AdminUserRequestSchema>;
