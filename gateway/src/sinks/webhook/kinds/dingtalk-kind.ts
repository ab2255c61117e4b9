import { createHmac } from 'node:crypto';
import type { AlarmEvent, Severity } from '../../../../../rules/src/index.js';
import { type AlarmCard, alarmCard, type CardOptions, type CardTone } from './alarm-card.js';
import { type RobotErrcodes, robotOutcome } from './robot-answer.js';
import type { WebhookKind } from './webhook-kind.js';

/**
 * DingTalk's answers: 130101 `send too fast, exceed 20 times per minute` (the robot is then limited for 10
 * minutes); 300001 and 300005 `token is not exist` (the robot is gone: the subscriber is disabled); 310000 (the
 * security settings refused it: sign not match, keywords, IP whitelist) and 400402 (a parameter missing or
 * malformed) cannot succeed on a retry.
 */
export const DINGTALK_ERRCODES: RobotErrcodes = {
  service: 'DingTalk',
  rateLimited: [130101],
  permanent: [310000, 400402],
  gone: [300001, 300005],
};

/**
 * DingTalk's 加签 signature of an attempt at `timestampMs`: base64 of HMAC-SHA256 keyed with the secret over
 * `"{timestamp}\n{secret}"` (UTF-8). URL-encoded, it goes in the url as `&timestamp=…&sign=…`.
 */
export function dingtalkSign(secret: string, timestampMs: number): string {
  return createHmac('sha256', secret).update(`${timestampMs}\n${secret}`, 'utf8').digest('base64');
}

/** `{url}&timestamp={ms}&sign={urlencoded sign}` (the configured url is kept as it is, access_token and all). */
export function dingtalkSignedUrl(url: string, secret: string, timestampMs: number): string {
  const separator = url.includes('?') ? '&' : '?';
  return `${url}${separator}timestamp=${timestampMs}&sign=${encodeURIComponent(dingtalkSign(secret, timestampMs))}`;
}

/** DingTalk's markdown shows `<font color>` in any colour: the severity's own. */
const SEVERITY_COLOUR: Record<Severity, string> = { red: '#E02020', orange: '#FA6400', yellow: '#D4A000', blue: '#1E6FD9' };
const CALM_COLOUR = '#2E9E44';
const colourOf = (severity: Severity, tone: CardTone): string => (tone === 'calm' ? CALM_COLOUR : SEVERITY_COLOUR[severity]);

/** The card in DingTalk's markdown: a heading, a bold line, one paragraph per field, a link. */
export function dingtalkMarkdown(card: AlarmCard): string {
  const colour = colourOf(card.severity, card.tone);
  return [
    `### <font color="${colour}">${card.severityLabel}</font> ${card.eventLabel}`,
    `**${card.message}**`,
    ...card.fields.map((field) => `${field.label}：${field.emphasis ? `<font color="${colour}">${field.value}</font>` : field.value}`),
    ...(card.link ? [`[${card.link.text}](${card.link.url})`] : []),
  ].join('\n\n');
}

/** The request body DingTalk's custom robot takes: `{"msgtype":"markdown","markdown":{"title":…,"text":…}}`. */
export function dingtalkBody(event: AlarmEvent, options: CardOptions): string {
  const card = alarmCard(event, options);
  return JSON.stringify({ msgtype: 'markdown', markdown: { title: card.title, text: dingtalkMarkdown(card) } });
}

/**
 * DingTalk (钉钉) custom robot: `POST {url}` (`https://oapi.dingtalk.com/robot/send?access_token=…`) with a
 * markdown message. With a 加签 `secret`, every attempt adds its own `timestamp` (ms) and `sign` to the url —
 * the body stays the one rendered when the event was queued. DingTalk refuses a timestamp more than an hour
 * from its clock, so a retry hours later is signed afresh.
 */
export function dingtalkKind(url: string, secret: string | undefined, options: CardOptions, rateLimitDelay: number): WebhookKind {
  return {
    render: (event) => dingtalkBody(event, options),
    request: (_delivery, now) => ({
      url: secret === undefined ? url : dingtalkSignedUrl(url, secret, now),
      headers: { 'content-type': 'application/json; charset=utf-8', 'user-agent': 'risk-gateway-webhooks/1' },
    }),
    judge: (answer, now) => robotOutcome(answer, now, DINGTALK_ERRCODES, rateLimitDelay),
    defaultMaxPerMinute: 20,
    readsBody: true,
  };
}
