import middy from '@middy/core';
import { type HttpEvent, type HttpResult, httpProblems, json, parseQuery } from '../../shared/api/http';
import { apiRuntime } from '../../shared/api/runtime';
import { ListTemplatesQuerySchema } from '../../shared/api/schemas';
import { TemplateStore } from '../../shared/templates/store';

/** GET /templates */
export const handler = middy<HttpEvent, HttpResult>()
  .use(httpProblems('ListTemplates'))
  .handler(async (event) => {
    const query = parseQuery(event, ListTemplatesQuerySchema);
    const rt = await apiRuntime();
    const items = await new TemplateStore(rt.db, rt.blueprints).list(query);
    return json(200, { items });
  });
