import { apiRoute } from '../../shared/api/route';
import { apiRuntime } from '../../shared/api/runtime';
import { TemplateStore } from '../../shared/templates/store';

/** GET /templates */
export const handler = apiRoute('ListTemplates', async ({ query }) => {
  const rt = await apiRuntime();
  return { items: await new TemplateStore(rt.db, rt.blueprints).list(query) };
});
