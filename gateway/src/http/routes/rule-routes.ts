import type { FastifyInstance } from 'fastify';
import type { ReloadResult } from '../../rule-files/rule-reloader.js';
import { sendError } from '../api-error.js';

export function registerRuleRoutes(app: FastifyInstance, deps: { reloadRules(): Promise<ReloadResult> }): void {
  /** Hot reload (also on SIGHUP): 200 with the files loaded, or 422 listing every problem; the old rules keep running. */
  app.post('/api/rules/reload', { config: { role: 'admin' } }, async (_request, reply) => {
    const result = await deps.reloadRules();
    if (!result.ok) return sendError(reply, 'rules_invalid', 'rule files rejected; the previous rules keep running', result.problems);
    return { reloaded: true, files: result.files, changedAlarms: result.changedAlarms };
  });
}
