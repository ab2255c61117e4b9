/**
 * What an HTTP answer to a write means for its points. 400 (a point InfluxDB cannot take: a field type conflict,
 * a parse error, a partial write), 413 (too large) and 422 (unprocessable) refuse the points: the sink finds the
 * refused ones by halving the batch and quarantines them. Every other failure — 5xx, 429, but also 401/403/404 (a
 * wrong or revoked token, a missing database or bucket: a fault of the setup, not of the data) — is the server
 * being unavailable: the points wait in the spool and are retried, and `/readyz` says why.
 */
export function writeFailureCode(status: number): 'influx_rejected' | 'influx_unavailable' {
  return status === 400 || status === 413 || status === 422 ? 'influx_rejected' : 'influx_unavailable';
}
