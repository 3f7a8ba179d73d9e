// `tenantry/cdk`: the control plane's CDK constructs, for your own CDK app. Importing it runs no
// app (infra/app.ts is the repository's own). cdk-nag is not re-exported (`addComplianceChecks`):
// it is not a dependency of the package; add `new AwsSolutionsChecks(app)` yourself (infra/README.md).

export { API_ROUTES, type ApiRoute } from '../shared/api/route-table';
export {
  DEPROVISION_WORKFLOW,
  MIGRATE_WORKFLOW,
  PROVISION_WORKFLOW,
  ROLLOUT_WORKFLOW,
  type WorkflowSpec,
} from '../statemachine/render';
export { BLUEPRINT_FILES, checkBlueprintsDir } from './blueprints';
export { SFN_ACTIONS, TenantryApi, type TenantryApiProps, useWorkflow } from './constructs/api';
export {
  AURORA_POSTGRES_VERSION,
  type DatabaseLogin,
  DEFAULT_DATABASE_NAME,
  type ExistingDatabaseProps,
  TenantryDatabase,
  type TenantryDatabaseProps,
} from './constructs/database';
export {
  type BackupAccess,
  TenantryDeprovisioning,
  type TenantryDeprovisioningProps,
} from './constructs/deprovision';
export {
  ALARM_THRESHOLDS,
  type MonitoredWorkflow,
  TenantryMonitoring,
  type TenantryMonitoringProps,
} from './constructs/monitoring';
export { TenantryReconciler, type TenantryReconcilerProps } from './constructs/reconciler';
export { acknowledgeRolloutGrants, allowWaveItems, ROLLOUT_PREFIX } from './constructs/rollout';
export {
  DATA_API_ACTIONS,
  TENANTRY_RUNTIME,
  TenantryFunction,
  type TenantryFunctionProps,
} from './constructs/tenantry-function';
export { TenantryWorkflow, type TenantryWorkflowProps } from './constructs/workflow';
export { TenantryStack, type TenantryStackProps } from './stack';
export {
  Tenantry,
  type TenantryApiOptions,
  type TenantryMonitoringOptions,
  type TenantryProps,
  type TenantryReconcilerOptions,
} from './tenantry';
