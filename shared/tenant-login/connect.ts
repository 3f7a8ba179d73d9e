import { tenantLoginConfigFromEnv } from '../config';
import type { TenantLoginSecrets } from './port';

let secrets: Promise<TenantLoginSecrets> | undefined;

/**
 * Where tenant login secrets go, as the environment says (shared/config.ts), created once per
 * process: Secrets Manager on AWS (its client loaded only then), a folder locally.
 */
export function tenantLoginSecrets(): Promise<TenantLoginSecrets> {
  secrets ??= (async () => {
    const config = tenantLoginConfigFromEnv();
    if (config.kind === 'secrets-manager') {
      const { SecretsManagerTenantLoginSecrets } = await import('./secrets-manager');
      return new SecretsManagerTenantLoginSecrets(config.prefix, config);
    }
    const { LocalTenantLoginSecrets } = await import('./local');
    return new LocalTenantLoginSecrets(config.dir, config);
  })();
  secrets.catch(() => {
    secrets = undefined;
  });
  return secrets;
}

/** Tests point the secrets at a fresh folder between runs. */
export function resetTenantLoginSecrets(): void {
  secrets = undefined;
}
