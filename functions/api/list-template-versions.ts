import middy from '@middy/core';
import { type HttpEvent, type HttpResult, httpProblems, json, templateIdParam } from '../../shared/api/http';
import { apiRuntime } from '../../shared/api/runtime';
import { TemplateStore } from '../../shared/templates/store';

/** GET /templates/{templateId}/versions */
export const handler = middy<HttpEvent, HttpResult>()
  .use(httpProblems('ListTemplateVersions'))
  .handler(async (event) => {
    const templateId = templateIdParam(event);
    const rt = await apiRuntime();
    return json(200, { items: await new TemplateStore(rt.db, rt.blueprints).versions(templateId) });
  });
