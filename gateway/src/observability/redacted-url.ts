/**
 * A URL as logs, errors and the API show it: the user and password of its userinfo and every query value replaced by
 * `***`. Any of them may be the credential: a robot's `key` or `access_token`, a platform's `?token=` or
 * `?appSecret=`, `https://user:pass@…`, Redis's `redis://:password@…`. Scheme, host, port and path stay (what an
 * operator needs to tell one target from another). Text that is not a URL shows only up to its first `?` or `@`.
 */
export function redactedUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    const cut = url.search(/[?@]/);
    return cut === -1 ? url : `${url.slice(0, cut)}…`;
  }
  if (parsed.username) parsed.username = '***';
  if (parsed.password) parsed.password = '***';
  for (const key of new Set(parsed.searchParams.keys())) parsed.searchParams.set(key, '***');
  return parsed.href;
}
