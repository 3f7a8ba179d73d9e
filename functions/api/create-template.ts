import { callerOf } from '../../shared/api/http';
import { apiRoute } from '../../shared/api/route';
import { apiRuntime } from '../../shared/api/runtime';
import { TemplateStore } from '../../shared/templates/store';

/** POST /templates */
export const handler = apiRoute(
  'CreateTemplate',
  async ({ body, event }) => {
    const rt = await apiRuntime();
    return new TemplateStore(rt.db, rt.blueprints).create(body, callerOf(event));
  },
  { location: (created) => `/templates/${created.templateId}` },
);
