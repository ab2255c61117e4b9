import { type Rejection, reject } from './rejection.js';

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Payload bytes → JSON value, or a `decode` rejection saying why. */
export function decodeJson(payload: Buffer): { ok: true; value: unknown } | { ok: false; rejection: Rejection } {
  let text: string;
  try {
    text = utf8.decode(payload);
  } catch {
    return { ok: false, rejection: reject('decode', 'payload is not valid UTF-8') };
  }
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (error) {
    return { ok: false, rejection: reject('decode', `not JSON: ${(error as Error).message}`) };
  }
}
