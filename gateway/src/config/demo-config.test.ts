import { describe, expect, it } from 'vitest';
import { demoConfig } from './demo-config.js';

describe('the embedded demo defaults (no --config)', () => {
  it('listen on this machine only: their tokens, an admin token among them, and device secrets are public', async () => {
    const config = await demoConfig();
    expect(config.api.tokens.map((token) => token.role)).toContain('admin');
    expect(config.mqtt.tcp.host).toBe('127.0.0.1');
    expect(config.http.host).toBe('127.0.0.1');
    expect(config.mqtt.ws).toBeUndefined();
    expect(config.mqtt.tls).toBeUndefined();
    // opened to the network only when asked (npm start -- --host 0.0.0.0)
    const open = await demoConfig({ mqtt: { tcp: { host: '0.0.0.0', port: 1883 } }, http: { host: '0.0.0.0', port: 8080 } });
    expect([open.mqtt.tcp.host, open.http.host]).toEqual(['0.0.0.0', '0.0.0.0']);
  });
});
