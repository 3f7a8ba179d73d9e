import { apiRoute } from '../../shared/api/route';
import { runtime } from '../../shared/runtime';
import { TemplateStore } from '../../shared/templates/store';

/** GET /templates */
export const handler = apiRoute('ListTemplates', async ({ query }) => {
  const rt = await runtime();
  return { items: await new TemplateStore(rt.db, rt.blueprints).list(query) };
});
