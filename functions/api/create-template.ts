import middy from '@middy/core';
import {
  callerOf,
  type HttpEvent,
  type HttpResult,
  httpProblems,
  json,
  parseBody,
} from '../../shared/api/http';
import { apiRuntime } from '../../shared/api/runtime';
import { TemplateRequestSchema } from '../../shared/api/schemas';
import { TemplateStore } from '../../shared/templates/store';

/** POST /templates */
export const handler = middy<HttpEvent, HttpResult>()
  .use(httpProblems('CreateTemplate'))
  .handler(async (event) => {
    const definition = parseBody(event, TemplateRequestSchema);
    const rt = await apiRuntime();
    const created = await new TemplateStore(rt.db, rt.blueprints).create(definition, callerOf(event));
    return json(201, created, { location: `/templates/${created.templateId}` });
  });
