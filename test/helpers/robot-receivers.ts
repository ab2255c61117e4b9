import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request a robot receiver took: what it carried, what the service would have answered, and why. */
export interface RobotRequest {
  at: number;
  url: URL;
  headers: IncomingHttpHeaders;
  rawBody: string;
  body: any;
  errcode: number;
  errmsg: string;
  /** Answered from the script (`rateLimitNext`, `answerNext`), not from the checks. */
  scripted: boolean;
}

interface RobotAnswer {
  errcode: number;
  errmsg: string;
}

export interface RobotReceiver {
  /** The webhook address to configure (with the robot's key or access_token). */
  url: string;
  /** Every request, in order of arrival. */
  requests: RobotRequest[];
  /** Requests the service would have taken (errcode 0). */
  accepted(): RobotRequest[];
  /** Requests refused for their format, credentials or signature (not the scripted answers). */
  refused(): RobotRequest[];
  /** Answer the next `count` well-formed requests with the service's rate-limit errcode. */
  rateLimitNext(count: number): void;
  /** Answer the next well-formed requests with these (then by the checks); an empty list ends the script. */
  answerNext(answers: RobotAnswer[]): void;
  close(): Promise<void>;
}

type Check = (url: URL, headers: IncomingHttpHeaders, body: any, rawBody: string, at: number) => RobotAnswer | null;

async function startRobot(path: string, rateLimit: RobotAnswer, check: Check): Promise<RobotReceiver> {
  const requests: RobotRequest[] = [];
  let script: RobotAnswer[] = [];
  const server: Server = createServer((request, response) => {
    const at = Date.now();
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const rawBody = Buffer.concat(chunks).toString('utf8');
      const url = new URL(request.url ?? '/', 'http://robot.local');
      let body: any = null;
      try {
        body = JSON.parse(rawBody);
      } catch {
        body = null;
      }
      const answer =
        request.method !== 'POST' || url.pathname !== path
          ? { errcode: 404, errmsg: `no such endpoint: ${request.method} ${url.pathname}` }
          : body === null
            ? { errcode: 40001, errmsg: 'body is not JSON' }
            : (check(url, request.headers, body, rawBody, at) ?? { errcode: 0, errmsg: 'ok' });
      const scripted = answer.errcode === 0 ? script.shift() : undefined;
      const given = scripted ?? answer;
      requests.push({ at, url, headers: request.headers, rawBody, body, ...given, scripted: scripted !== undefined });
      // Both services answer HTTP 200 with the errcode in the body, failures included.
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(given));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: base + path,
    requests,
    accepted: () => requests.filter((r) => r.errcode === 0),
    refused: () => requests.filter((r) => r.errcode !== 0 && !r.scripted),
    rateLimitNext(count) {
      script = Array.from({ length: count }, () => rateLimit);
    },
    answerNext(answers) {
      script = [...answers];
    },
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

const isJson = (headers: IncomingHttpHeaders): boolean => /^application\/json\b/i.test(String(headers['content-type'] ?? ''));

/**
 * A WeCom (企业微信) group robot as its documentation describes it: `POST /cgi-bin/webhook/send?key=KEY`, a JSON
 * body `{"msgtype":"markdown","markdown":{"content":…}}` with content of at most 4096 bytes of UTF-8; it answers
 * HTTP 200 `{"errcode":0,"errmsg":"ok"}`, or 93000 for an unknown key, 40058 for a bad parameter, 45009 when rate limited.
 */
export function startWecomReceiver(key: string): Promise<RobotReceiver> {
  const check: Check = (url, headers, body) => {
    if (url.searchParams.get('key') !== key) return { errcode: 93000, errmsg: 'invalid webhook url' };
    if (!isJson(headers)) return { errcode: 40001, errmsg: `content-type ${headers['content-type']}` };
    if (body.msgtype !== 'markdown') return { errcode: 40008, errmsg: `invalid message type ${body.msgtype}` };
    const content = body.markdown?.content;
    if (typeof content !== 'string' || content.length === 0) return { errcode: 40058, errmsg: 'markdown.content missing' };
    if (Buffer.byteLength(content, 'utf8') > 4096) return { errcode: 40058, errmsg: 'markdown.content exceed max length 4096' };
    return null;
  };
  return startRobot('/cgi-bin/webhook/send', { errcode: 45009, errmsg: 'api freq out of limit' }, check);
}

/**
 * A DingTalk (钉钉) custom robot with 加签 security as its documentation describes it:
 * `POST /robot/send?access_token=TOKEN&timestamp=T&sign=S`, where T (ms) is within an hour of the robot's clock
 * and S = urlEncode(base64(HmacSHA256(secret, T + "\n" + secret))), recomputed here from the secret; a JSON body
 * `{"msgtype":"markdown","markdown":{"title":…,"text":…}}`. It answers HTTP 200 `{"errcode":0,"errmsg":"ok"}`,
 * or 300001 for an unknown token, 310000 for a timestamp or sign it refuses, 130101 when rate limited.
 */
export function startDingtalkReceiver(token: string, secret: string): Promise<RobotReceiver> {
  const check: Check = (url, headers, body, _raw, at) => {
    if (url.searchParams.get('access_token') !== token) return { errcode: 300001, errmsg: 'token is not exist' };
    const timestamp = url.searchParams.get('timestamp');
    const sign = url.searchParams.get('sign'); // URL-decoded: an unencoded '+' would arrive as ' ' and fail below
    if (timestamp === null || sign === null || !/^\d+$/.test(timestamp)) return { errcode: 310000, errmsg: 'sign not match: missing' };
    if (Math.abs(at - Number(timestamp)) > 3_600_000) return { errcode: 310000, errmsg: 'invalid timestamp' };
    const expected = createHmac('sha256', secret).update(`${timestamp}\n${secret}`, 'utf8').digest();
    const given = Buffer.from(sign, 'base64');
    if (Buffer.from(sign, 'base64').toString('base64') !== sign || given.length !== expected.length || !timingSafeEqual(given, expected))
      return { errcode: 310000, errmsg: 'sign not match' };
    if (!isJson(headers)) return { errcode: 400402, errmsg: `content-type ${headers['content-type']}` };
    if (body.msgtype !== 'markdown') return { errcode: 400402, errmsg: `msgtype ${body.msgtype}` };
    const { title, text } = body.markdown ?? {};
    if (typeof title !== 'string' || title.length === 0) return { errcode: 400402, errmsg: '参数 markdown --》 title 缺失' };
    if (typeof text !== 'string' || text.length === 0) return { errcode: 400402, errmsg: '参数 markdown --》 text 缺失' };
    return null;
  };
  return startRobot('/robot/send', { errcode: 130101, errmsg: 'send too fast, exceed 20 times per minute' }, check);
}
