import type { WebhookSubscriberConfig } from '../../../config/config-schema.js';
import { dingtalkKind } from './dingtalk-kind.js';
import { standardKind } from './standard-kind.js';
import type { WebhookKind } from './webhook-kind.js';
import { wecomKind } from './wecom-kind.js';

/** After a rate-limit answer, unless `rateLimitDelay` says otherwise: WeCom counts per minute; DingTalk then blocks the robot for 10 minutes. */
export const DEFAULT_RATE_LIMIT_DELAY = { wecom: 60_000, dingtalk: 600_000 } as const;

/** The kind a subscriber's config names (`webhooks[].kind`, `standard` by default). */
export function webhookKindOf(config: WebhookSubscriberConfig): WebhookKind {
  const card = { language: config.language, consoleUrl: config.consoleUrl };
  switch (config.kind) {
    case 'wecom':
      return wecomKind(config.url, card, config.rateLimitDelay ?? DEFAULT_RATE_LIMIT_DELAY.wecom);
    case 'dingtalk':
      return dingtalkKind(config.url, config.secret, card, config.rateLimitDelay ?? DEFAULT_RATE_LIMIT_DELAY.dingtalk);
    case 'standard':
      return standardKind(config.secrets ?? [], config.url);
  }
}
