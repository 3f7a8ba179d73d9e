import { callerOf } from '../../shared/api/http';
import { apiRoute } from '../../shared/api/route';
import { provisionFromTemplate } from '../../shared/api/routes';
import { apiRuntime } from '../../shared/api/runtime';

/** POST /templates/{templateId}/provision */
export const handler = apiRoute('ProvisionFromTemplate', async ({ params, body, event }) =>
  provisionFromTemplate(await apiRuntime(), params.templateId, body, callerOf(event)),
);
