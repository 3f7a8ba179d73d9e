import { callerOf } from '../../shared/api/http';
import { apiRoute } from '../../shared/api/route';
import { runtime } from '../../shared/runtime';
import { TemplateStore } from '../../shared/templates/store';

/** POST /templates */
export const handler = apiRoute(
  'CreateTemplate',
  async ({ body, event }) => {
    const rt = await runtime();
    return new TemplateStore(rt.db, rt.blueprints).create(body, callerOf(event));
  },
  { location: (created) => `/templates/${created.templateId}` },
);
