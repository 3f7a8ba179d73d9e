import { apiRoute } from '../../shared/api/route';
import { apiRuntime } from '../../shared/api/runtime';
import { TemplateStore } from '../../shared/templates/store';

/** GET /templates/{templateId} */
export const handler = apiRoute('GetTemplate', async ({ params }) => {
  const rt = await apiRuntime();
  return new TemplateStore(rt.db, rt.blueprints).get(params.templateId);
});
