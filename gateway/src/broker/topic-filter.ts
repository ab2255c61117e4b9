/** MQTT topic filter matching (`+` one level, `#` the rest), as the lab-mode ACL needs it. */
export function topicMatches(filter: string, topic: string): boolean {
  const f = filter.split('/');
  const t = topic.split('/');
  if (t[0]?.startsWith('$') && !f[0]?.startsWith('$')) return false;
  for (let i = 0; i < f.length; i += 1) {
    const level = f[i];
    if (level === '#') return true;
    if (i >= t.length) return false;
    if (level !== '+' && level !== t[i]) return false;
  }
  return f.length === t.length;
}

/**
 * True when every topic that `inner` matches is also matched by `outer`. A filter whose first level is a wildcard
 * matches no `$` topic (MQTT-4.7.2-1), so `#` does not cover `$SYS/#`.
 */
export function filterCovers(outer: string, inner: string): boolean {
  const o = outer.split('/');
  const i = inner.split('/');
  if (!o[0]?.startsWith('$') && i[0]?.startsWith('$')) return false;
  for (let n = 0; n < o.length; n += 1) {
    const level = o[n];
    if (level === '#') return true;
    const other = i[n];
    if (other === undefined || other === '#') return false;
    if (level === '+') continue;
    if (other === '+' || other !== level) return false;
  }
  return o.length === i.length;
}
