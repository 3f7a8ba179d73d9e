import { apiRoute } from '../../shared/api/route';
import { runtime } from '../../shared/runtime';
import { TemplateStore } from '../../shared/templates/store';

/** POST /templates/{templateId}/archive */
export const handler = apiRoute('ArchiveTemplate', async ({ params }) => {
  const rt = await runtime();
  return new TemplateStore(rt.db, rt.blueprints).archive(params.templateId);
});
