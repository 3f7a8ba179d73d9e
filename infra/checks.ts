import { type App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';

/**
 * Runs cdk-nag's AwsSolutions pack over the app at synthesis. Any finding that is not acknowledged
 * where it occurs (`Validations.of(construct).acknowledge({ id, reason })`), error or warning,
 * fails the synth.
 */
export function addComplianceChecks(app: App): void {
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
}
