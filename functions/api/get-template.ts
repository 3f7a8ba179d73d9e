import { apiRoute } from '../../shared/api/route';
import { runtime } from '../../shared/runtime';
import { TemplateStore } from '../../shared/templates/store';

/** GET /templates/{templateId} */
export const handler = apiRoute('GetTemplate', async ({ params }) => {
  const rt = await runtime();
  return new TemplateStore(rt.db, rt.blueprints).get(params.templateId);
});
