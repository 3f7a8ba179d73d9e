// `tenantry/client`: talk to a Tenantry HTTP API, deployed (SigV4-signed with the default AWS
// credential chain) or local (`tenantry serve`, `npm start`).
export type { ApiClientOptions, ApiResponse } from './api-client';
export { ApiClient, regionOf } from './api-client';
