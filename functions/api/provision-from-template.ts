import middy from '@middy/core';
import {
  type HttpEvent,
  type HttpResult,
  httpProblems,
  json,
  parseBody,
  templateIdParam,
} from '../../shared/api/http';
import { provisionFromTemplate } from '../../shared/api/routes';
import { apiRuntime } from '../../shared/api/runtime';
import { ProvisionFromTemplateSchema } from '../../shared/api/schemas';

/** POST /templates/{templateId}/provision */
export const handler = middy<HttpEvent, HttpResult>()
  .use(httpProblems('ProvisionFromTemplate'))
  .handler(async (event) => {
    const templateId = templateIdParam(event);
    const request = parseBody(event, ProvisionFromTemplateSchema);
    const started = await provisionFromTemplate(await apiRuntime(), templateId, request);
    return json(202, started, { location: started.statusUrl });
  });
