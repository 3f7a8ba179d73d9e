import middy from '@middy/core';
import {
  callerOf,
  type HttpEvent,
  type HttpResult,
  httpProblems,
  json,
  parseBody,
  templateIdParam,
} from '../../shared/api/http';
import { apiRuntime } from '../../shared/api/runtime';
import { TemplateRequestSchema } from '../../shared/api/schemas';
import { TemplateStore } from '../../shared/templates/store';

/** PUT /templates/{templateId}: a new version. */
export const handler = middy<HttpEvent, HttpResult>()
  .use(httpProblems('UpdateTemplate'))
  .handler(async (event) => {
    const templateId = templateIdParam(event);
    const definition = parseBody(event, TemplateRequestSchema);
    const rt = await apiRuntime();
    return json(
      200,
      await new TemplateStore(rt.db, rt.blueprints).update(templateId, definition, callerOf(event)),
    );
  });
