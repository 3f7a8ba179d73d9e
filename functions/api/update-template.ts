import { callerOf } from '../../shared/api/http';
import { apiRoute } from '../../shared/api/route';
import { runtime } from '../../shared/runtime';
import { TemplateStore } from '../../shared/templates/store';

/** PUT /templates/{templateId}: a new version */
export const handler = apiRoute('UpdateTemplate', async ({ params, body, event }) => {
  const rt = await runtime();
  return new TemplateStore(rt.db, rt.blueprints).update(params.templateId, body, callerOf(event));
});
