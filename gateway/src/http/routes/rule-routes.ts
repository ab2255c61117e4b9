import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { ReloadResult } from '../../rule-files/rule-reloader.js';
import { AUTH_ERRORS, errorResponses, sendError } from '../api-error.js';
import type { AuditRecorder } from '../audit-request.js';

const reloaded = z
  .object({
    reloaded: z.literal(true),
    files: z.array(z.string()).describe('the rule files now running'),
    changedAlarms: z.number().int().min(0).describe('open alarms the new rules changed'),
  })
  .meta({
    description: 'the new rules run',
    examples: [{ reloaded: true, files: ['profiles/dust-collector/rules.yaml', 'rules/site-a.yaml'], changedAlarms: 0 }],
  });

export function registerRuleRoutes(app: FastifyInstance, deps: { reloadRules(): Promise<ReloadResult>; audit: AuditRecorder }): void {
  /** Hot reload (also on SIGHUP): 200 with the files loaded, or 422 listing every problem; the old rules keep running. */
  app.withTypeProvider<ZodTypeProvider>().post(
    '/api/rules/reload',
    {
      config: { role: 'admin' },
      schema: {
        summary: 'Hot reload of the rule files; 422 rules_invalid lists every problem and the old rules keep running',
        tags: ['rules'],
        response: { 200: reloaded, ...errorResponses([...AUTH_ERRORS, 'rules_invalid']) },
      },
    },
    async (request, reply) => {
      const result = await deps.reloadRules();
      deps.audit(request, {
        action: 'rules.reload',
        outcome: result.ok ? 'ok' : 'rules_invalid',
        detail: result.ok ? { files: result.files, changedAlarms: result.changedAlarms } : { problems: result.problems.length },
      });
      if (!result.ok) return sendError(reply, 'rules_invalid', 'rule files rejected; the previous rules keep running', result.problems);
      return { reloaded: true as const, files: result.files, changedAlarms: result.changedAlarms };
    },
  );
}
