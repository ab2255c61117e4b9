import type { AlarmEvent } from '../../../../../rules/src/index.js';
import { type AlarmCard, alarmCard, type CardOptions, type CardTone, truncateUtf8 } from './alarm-card.js';
import { type RobotErrcodes, robotOutcome } from './robot-answer.js';
import type { WebhookKind } from './webhook-kind.js';

/** WeCom's limit on `markdown.content`: 4096 bytes of UTF-8 (longer is refused with errcode 40058). */
export const WECOM_MAX_CONTENT_BYTES = 4096;

/**
 * WeCom's answers: 45009 `api freq out of limit` (20 messages a minute per robot); 93000 `invalid webhook url`
 * (no such key: the robot is gone, the subscriber is disabled); 40058 (an invalid parameter, e.g. content longer
 * than 4096 bytes) cannot succeed on a retry.
 */
export const WECOM_ERRCODES: RobotErrcodes = { service: 'WeCom', rateLimited: [45009], permanent: [40058], gone: [93000] };

/** WeCom's markdown has three colours: `warning` (orange-red), `info` (green), `comment` (grey). */
const COLOUR: Record<CardTone, string> = { alert: 'warning', calm: 'info', info: 'comment' };

/** The card in WeCom's markdown subset: a heading, a bold line, quoted fields, a link; at most 4096 bytes. */
export function wecomMarkdown(card: AlarmCard): string {
  const head = `## <font color="${COLOUR[card.tone]}">${card.severityLabel}</font> ${card.eventLabel}`;
  const tail = [
    ...card.fields.map(
      (field) => `> ${field.label}：${field.emphasis ? `<font color="${COLOUR[card.tone]}">${field.value}</font>` : field.value}`,
    ),
    ...(card.link ? [`[${card.link.text}](${card.link.url})`] : []),
  ].join('\n');
  const frame = `${head}\n**\n${tail}`;
  const room = WECOM_MAX_CONTENT_BYTES - Buffer.byteLength(`${frame}**`, 'utf8');
  return `${head}\n**${truncateUtf8(card.message, room)}**\n${tail}`;
}

/** The request body WeCom's group robot takes: `{"msgtype":"markdown","markdown":{"content":…}}`. */
export function wecomBody(event: AlarmEvent, options: CardOptions): string {
  return JSON.stringify({ msgtype: 'markdown', markdown: { content: wecomMarkdown(alarmCard(event, options)) } });
}

/**
 * WeCom (企业微信) group robot: `POST {url}` (`https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=…`) with a
 * markdown message; the key in the url is the robot's only credential.
 */
export function wecomKind(url: string, options: CardOptions, rateLimitDelay: number): WebhookKind {
  return {
    render: (event) => wecomBody(event, options),
    request: () => ({ url, headers: { 'content-type': 'application/json; charset=utf-8', 'user-agent': 'risk-gateway-webhooks/1' } }),
    judge: (answer, now) => robotOutcome(answer, now, WECOM_ERRCODES, rateLimitDelay),
    defaultMaxPerMinute: 20,
    readsBody: true,
  };
}
