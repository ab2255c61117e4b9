import { signatureHeader } from '../sign.js';
import { isSuccess, statusOutcome, type WebhookKind } from './webhook-kind.js';

/**
 * Contract §5: the event itself as the body, signed per Standard Webhooks v1 with every `whsec_` secret; the
 * `webhook-timestamp` and signature are those of each attempt.
 */
export function standardKind(secrets: readonly string[], url: string): WebhookKind {
  return {
    render: (event) => JSON.stringify(event),
    request(delivery, now) {
      const timestamp = Math.floor(now / 1000);
      return {
        url,
        headers: {
          'content-type': 'application/json',
          'user-agent': 'risk-gateway-webhooks/1',
          'webhook-id': delivery.event.id,
          'webhook-timestamp': String(timestamp),
          'webhook-signature': signatureHeader(secrets, delivery.event.id, timestamp, delivery.body),
        },
      };
    },
    judge: (answer, now) => (isSuccess(answer.status) ? { ok: true } : statusOutcome(answer, now)),
    defaultMaxPerMinute: null,
    readsBody: false,
  };
}
