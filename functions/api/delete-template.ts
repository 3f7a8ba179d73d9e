import { apiRoute } from '../../shared/api/route';
import { runtime } from '../../shared/runtime';
import { TemplateStore } from '../../shared/templates/store';

/** DELETE /templates/{templateId} */
export const handler = apiRoute('DeleteTemplate', async ({ params }) => {
  const rt = await runtime();
  await new TemplateStore(rt.db, rt.blueprints).delete(params.templateId);
});
