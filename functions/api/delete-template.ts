import { apiRoute } from '../../shared/api/route';
import { apiRuntime } from '../../shared/api/runtime';
import { TemplateStore } from '../../shared/templates/store';

/** DELETE /templates/{templateId} */
export const handler = apiRoute('DeleteTemplate', async ({ params }) => {
  const rt = await apiRuntime();
  await new TemplateStore(rt.db, rt.blueprints).delete(params.templateId);
});
