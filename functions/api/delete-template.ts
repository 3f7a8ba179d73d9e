import middy from '@middy/core';
import { type HttpEvent, type HttpResult, httpProblems, templateIdParam } from '../../shared/api/http';
import { apiRuntime } from '../../shared/api/runtime';
import { TemplateStore } from '../../shared/templates/store';

/** DELETE /templates/{templateId} */
export const handler = middy<HttpEvent, HttpResult>()
  .use(httpProblems('DeleteTemplate'))
  .handler(async (event) => {
    const templateId = templateIdParam(event);
    const rt = await apiRuntime();
    await new TemplateStore(rt.db, rt.blueprints).delete(templateId);
    return { statusCode: 204 };
  });
