/**
 * Every metric Tenantry emits, declared once: its name, unit and dimensions. The handlers emit
 * them (shared/observability/metrics.ts) as CloudWatch embedded metric format lines in the
 * `Tenantry` namespace, the local engine counts them for `GET /stats`, and the monitoring
 * construct (infra/constructs/monitoring.ts) builds its alarms and dashboard from the same list.
 *
 * Dimensions are few and bounded: a workflow, a step, a blueprint, a status, a finding kind.
 * Never a tenant id, an execution id or anything else a caller chooses.
 */
export const METRICS_NAMESPACE = 'Tenantry';

export type MetricUnit = 'Count' | 'Milliseconds';

export interface MetricDefinition {
  readonly unit: MetricUnit;
  /** The dimension names, in the order they are emitted: one dimension set per metric. */
  readonly dimensions: readonly string[];
  /** What one data point means, for the dashboard and the README. */
  readonly description: string;
}

export const METRICS = {
  TenantsProvisioned: {
    unit: 'Count',
    dimensions: ['workflow', 'blueprint'],
    description: 'A Provision run registered its tenant (not a restore)',
  },
  TenantsRestored: {
    unit: 'Count',
    dimensions: ['workflow', 'blueprint'],
    description: 'A Provision run registered a tenant restored from its backup',
  },
  TenantsDeprovisioned: {
    unit: 'Count',
    dimensions: ['workflow', 'blueprint'],
    description: 'A Deprovision run finished: the tenant is deprovisioned',
  },
  TenantsMigrated: {
    unit: 'Count',
    dimensions: ['workflow', 'blueprint'],
    description: 'A Migrate run recorded its tenant at the target version',
  },
  WorkflowFailed: {
    unit: 'Count',
    dimensions: ['workflow', 'step'],
    description: 'A run failed and its Cleanup ran; step is the step that failed',
  },
  WorkflowCancelled: {
    unit: 'Count',
    dimensions: ['workflow'],
    description: 'A run was cancelled through the API or the CLI',
  },
  RolloutHalted: {
    unit: 'Count',
    dimensions: ['workflow', 'blueprint'],
    description: "A rollout halted: a wave's failures passed its tolerance, or the rollout failed",
  },
  WorkflowDuration: {
    unit: 'Milliseconds',
    dimensions: ['workflow'],
    description: "A successful run's duration, from its start to its last step",
  },
  StepDuration: {
    unit: 'Milliseconds',
    dimensions: ['workflow', 'step'],
    description: "One invocation of a step's function, successful or not",
  },
  StepFailed: {
    unit: 'Count',
    dimensions: ['workflow', 'step'],
    description: 'A step invocation ended in an error (retried or not)',
  },
  StepRetried: {
    unit: 'Count',
    dimensions: ['workflow', 'step'],
    description: 'A step invocation that is a retry of a transient fault',
  },
  DataApiErrors: {
    unit: 'Count',
    dimensions: ['error'],
    description: 'A Data API call failed; error is the typed error it became (shared/errors.ts)',
  },
  ReconciliationFindings: {
    unit: 'Count',
    dimensions: ['finding'],
    description: 'Inconsistencies of one kind the reconciler found in one run (0 when none)',
  },
  FleetTenants: {
    unit: 'Count',
    dimensions: ['status'],
    description: 'Tenants in each status, counted by the reconciler at each run',
  },
  FleetTenantsByVersion: {
    unit: 'Count',
    dimensions: ['blueprint', 'version'],
    description: 'Live tenants at each blueprint version, counted by the reconciler at each run',
  },
} as const satisfies Readonly<Record<string, MetricDefinition>>;

export type MetricName = keyof typeof METRICS;
export type DimensionsOf<M extends MetricName> = Record<(typeof METRICS)[M]['dimensions'][number], string>;
