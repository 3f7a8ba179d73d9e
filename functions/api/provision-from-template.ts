import { apiRoute } from '../../shared/api/route';
import { provisionFromTemplate } from '../../shared/api/routes';
import { apiRuntime } from '../../shared/api/runtime';

/** POST /templates/{templateId}/provision */
export const handler = apiRoute('ProvisionFromTemplate', async ({ params, body }) =>
  provisionFromTemplate(await apiRuntime(), params.templateId, body),
);
