import { apiRoute } from '../../shared/api/route';
import { runtime } from '../../shared/runtime';
import { TemplateStore } from '../../shared/templates/store';

/** GET /templates/{templateId}/versions */
export const handler = apiRoute('ListTemplateVersions', async ({ params }) => {
  const rt = await runtime();
  return { items: await new TemplateStore(rt.db, rt.blueprints).versions(params.templateId) };
});
