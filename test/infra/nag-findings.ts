import { type App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';

/** Unacknowledged AwsSolutions findings, errors and warnings alike, as `rule at path` lines. */
export function nagFindings(app: App): string[] {
  app.synth();
  const report = new AwsSolutionsChecks(app).validateScope(app);
  return report.violations.flatMap((v) =>
    v.violatingResources.map((r) => `${v.severity} ${v.ruleName} at ${r.constructPath}`),
  );
}

/**
 * The acknowledgements made while `build` makes its app, recorded as `rule at path` instead of
 * applied, and the app's findings without them: `exists(ack)` says whether an acknowledgement names
 * a finding that is really there, on that construct.
 */
export function recordAcknowledgements(build: () => App): {
  readonly recorded: string[];
  readonly exists: (ack: string) => boolean;
} {
  const recorded: string[] = [];
  const original = Object.getOwnPropertyDescriptor(Validations.prototype, 'acknowledge');
  if (!original) throw new Error('Validations.prototype.acknowledge is gone');
  Object.defineProperty(Validations.prototype, 'acknowledge', {
    configurable: true,
    value(this: { scope: { node: { path: string } } }, ...rules: { id: string }[]) {
      for (const rule of rules) recorded.push(`${rule.id} at ${this.scope.node.path}`);
    },
  });
  let raw: string[];
  try {
    raw = nagFindings(build());
  } finally {
    Object.defineProperty(Validations.prototype, 'acknowledge', original);
  }
  const found = new Set(raw.map((f) => f.replace(/^\w+ /, '')));
  return { recorded, exists: (ack) => found.has(ack) || found.has(`${ack}/Resource`) };
}
