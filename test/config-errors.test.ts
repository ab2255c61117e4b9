import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { aliasBomb, aliasInsideItself } from './support/hostile-yaml.js';

const dir = mkdtempSync(join(tmpdir(), 'gateway-config-'));
const file = (name: string, text: string): string => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};

/** Runs the real gateway entry point the way an operator does. */
function runGateway(args: string[], env: Record<string, string> = {}): { status: number | null; stderr: string; stdout: string } {
  const result = spawnSync(process.execPath, ['--import', 'tsx', 'gateway/src/main.ts', ...args], {
    encoding: 'utf8',
    timeout: 30_000,
    env: { ...process.env, LOG_LEVEL: 'silent', ...env },
  });
  return { status: result.status, stderr: result.stderr, stdout: result.stdout };
}

describe('a start that may work next time exits 1, not 2 (what a supervisor would stop restarting)', () => {
  it('an MQTT port in use: listen_failed, exit 1', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const port = (taken.address() as AddressInfo).port;
    try {
      const path = file(
        'busy.yaml',
        `influx: { mode: off }\nstore: { enabled: false }\nmqtt: { tcp: { host: 127.0.0.1, port: ${port} } }\n`,
      );
      const result = runGateway(['--config', path]);
      expect(result.stderr).toMatch(new RegExp(`^listen_failed: MQTT tcp listener cannot bind 127\\.0\\.0\\.1:${port}`));
      expect(result.status).toBe(1);
    } finally {
      taken.close();
    }
  });
});

describe('invalid configuration fails fast, naming every problem with its path', () => {
  it('lists each bad path with its line and exits 2', () => {
    const path = file(
      'bad.yaml',
      [
        'mqtt:',
        '  tcp:',
        '    port: "1883"', // line 3: a string, not a number
        '  maxPayloadBytes: -1', // line 4
        '  admission: { maxLaneWait: 0, maxHold: 0 }', // line 5: would hold every CONNECT, and refuse it at once
        'http:',
        '  port: 99999', // line 7
        'webhooks:',
        '  - id: regulator',
        '    url: not-a-url', // line 10
        '    secrets: [plain-secret]', // line 11
        'devices:',
        '  - id: dc-01',
        '    site: site a', // line 14: space not allowed
        '    profile: dust-collector',
        '    secretHash: abc', // line 16
        'surprise: true', // line 17: unknown key
      ].join('\n'),
    );
    const result = runGateway(['--config', path]);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('config_invalid');
    for (const expected of [
      'bad.yaml:3: mqtt.tcp.port',
      'bad.yaml:4: mqtt.maxPayloadBytes',
      'bad.yaml:5: mqtt.admission.maxLaneWait: more than 0 (0 would hold every CONNECT)',
      'bad.yaml:5: mqtt.admission.maxHold: between 1s and 60s',
      'bad.yaml:7: http.port',
      'bad.yaml:10: webhooks[0].url',
      'bad.yaml:11: webhooks[0].secrets[0]: expected whsec_',
      'bad.yaml:14: devices[0].site',
      'bad.yaml:16: devices[0].secretHash',
      'surprise',
    ]) {
      expect(result.stderr).toContain(expected);
    }
  });

  it('checks profiles and device attributes against the profile', () => {
    const hash = 'scrypt$c2FsdA==$aGFzaA==';
    const path = file(
      'profiles.yaml',
      [
        'devices:',
        '  - id: x1',
        '    site: s',
        '    profile: volcano',
        `    secretHash: ${hash}`,
        '  - id: x2',
        '    site: s',
        '    profile: dust-collector',
        `    secretHash: ${hash}`,
        '    attributes:',
        '      loc_percent: -3',
      ].join('\n'),
    );
    const result = runGateway(['--config', path]);
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/profiles\.yaml:4: devices\[0\]\.profile: unknown profile "volcano"/);
    expect(result.stderr).toMatch(/devices\[1\]\.attributes\.loc_percent/);
  });

  it('refuses at --check what would otherwise end the start with a stack trace, or quietly match nothing', () => {
    const path = file(
      'quiet.yaml',
      [
        'influx: { mode: off }',
        'http:',
        '  trustProxy: [haproxy, 10.0.0.0/8, 10.0.0.0/33, loopback, 0.0.0.0/0, 10.0.0.0/255.0.0.0]', // line 3
        'mqtt:',
        `  tls: { cert: ${join(dir, 'no-such-cert.pem')}, key: ${join(dir, 'no-such-key.pem')} }`, // line 5
        'webhooks:',
        '  - id: regulator',
        '    url: https://regulator.example.org/hooks',
        `    secrets: [whsec_${Buffer.from('a-secret-of-the-regulator-32-b!!').toString('base64')}]`,
        '    filter: { types: [alarm.raise, alarm.cleared] }', // line 10
        'handling:',
        '  escalation:',
        '    - id: red',
        '      match: { profiles: [dust_collector] }', // line 14
        '      steps: [{ after: 10m, notify: { subscribers: [regulator] } }]',
      ].join('\n'),
    );
    const result = runGateway(['--config', path, '--check']);
    expect(result.status).toBe(2);
    for (const expected of [
      'quiet.yaml:3: http.trustProxy[0]: invalid IP address: haproxy: an IP address, a range (10.0.0.0/8, 10.0.0.0/255.0.0.0) or one of loopback, linklocal, uniquelocal',
      'quiet.yaml:3: http.trustProxy[2]: invalid range on address: 10.0.0.0/33',
      // accepted by the range's own rules, refused by proxy-addr at start: refused here
      'quiet.yaml:3: http.trustProxy[4]: invalid range on address: 0.0.0.0/0',
      'quiet.yaml:10: webhooks[0].filter.types[0]',
    ])
      expect(result.stderr).toContain(expected);
    expect(result.stderr).not.toContain('trustProxy[1]');
    expect(result.stderr).not.toContain('trustProxy[3]');
    expect(result.stderr).not.toContain('trustProxy[5]'); // a netmask, as proxy-addr takes it
    // what the schema cannot know, once the file's shape is right
    const fixed = file(
      'quiet-2.yaml',
      readFileSync(path, 'utf8')
        .replace('haproxy, 10.0.0.0/8, 10.0.0.0/33, ', '')
        .replace(', 0.0.0.0/0', '')
        .replace('alarm.raise,', 'alarm.raised,'),
    );
    const second = runGateway(['--config', fixed, '--check']);
    expect(second.status).toBe(2);
    expect(second.stderr).toMatch(/quiet-2\.yaml:5: mqtt\.tls\.cert: cannot read \S+no-such-cert\.pem: ENOENT/);
    expect(second.stderr).toContain('quiet-2.yaml:5: mqtt.tls.key: cannot read');
    expect(second.stderr).toContain('quiet-2.yaml:14: handling.escalation[0].match.profiles[0]: unknown profile "dust_collector"');
  });

  it('refuses an unknown LOG_LEVEL with exit 2, and warns of a site no device is on', () => {
    const path = file(
      'sites.yaml',
      [
        'influx: { mode: off }',
        'webhooks:',
        '  - id: regulator',
        '    url: https://regulator.example.org/hooks',
        `    secrets: [whsec_${Buffer.from('a-secret-of-the-regulator-32-b!!').toString('base64')}]`,
        '    filter: { sites: [plant_a] }',
      ].join('\n'),
    );
    const level = runGateway(['--config', path, '--check'], { LOG_LEVEL: 'verbose' });
    expect([level.status, level.stderr]).toEqual([
      2,
      'config_invalid: LOG_LEVEL=verbose: one of fatal, error, warn, info, debug, trace, silent\n',
    ]);
    const checked = runGateway(['--config', path, '--check']);
    expect(checked.status).toBe(0);
    expect(checked.stdout).toBe(
      'warning: webhooks[0].filter.sites names site "plant_a", which no device of the registry is on\nconfiguration and rule files are valid\n',
    );
  });

  it('reads ${NAME} as a number or a boolean where the schema wants one (a port, a switch)', () => {
    const path = file(
      'typed.yaml',
      'influx: { mode: off }\nmqtt:\n  tcp:\n    port: ${MQTT_PORT:-1883}\n  labMode:\n    enabled: ${LAB:-false}\ntickInterval: ${TICK:-250}\n',
    );
    expect(runGateway(['--config', path, '--check'], { MQTT_PORT: '11883', LAB: 'true', TICK: '500' })).toMatchObject({
      status: 0,
      stdout: 'configuration and rule files are valid\n',
    });
    const wrong = runGateway(['--config', path, '--check'], { MQTT_PORT: 'eighteen' });
    expect(wrong.status).toBe(2);
    expect(wrong.stderr).toMatch(/typed\.yaml:4: mqtt\.tcp\.port: .*expected number, received string/);
  });

  it('a device file holds devices only, and one that cannot be read is named where it is included', () => {
    const hash = 'scrypt$c2FsdA==$aGFzaA==';
    const devices = file(
      'more-devices.yaml',
      ['devices:', '  - id: x9', '    site: s', '    profile: dust-collector', `    secretHash: ${hash}`, 'webhooks: []', ''].join('\n'),
    );
    const including = file('including.yaml', `influx: { mode: off }\ndeviceFiles: [${devices}]\n`);
    const extra = runGateway(['--config', including, '--check']);
    expect(extra.status).toBe(2);
    expect(extra.stderr).toContain(
      'more-devices.yaml:6: webhooks: a device file holds devices (and deviceFiles) only: this is not read here',
    );
    const missing = runGateway([
      '--config',
      file('missing.yaml', `influx: { mode: off }\ndeviceFiles: [${join(dir, 'nowhere.yaml')}]\n`),
      '--check',
    ]);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toMatch(/missing\.yaml:2: deviceFiles\[0\]: cannot read config file \S+nowhere\.yaml: ENOENT/);
  });

  it('reports broken YAML and a missing environment variable', () => {
    expect(runGateway(['--config', file('syntax.yaml', 'mqtt: [unclosed\n')]).stderr).toMatch(/syntax\.yaml:\d+/);
    const missing = runGateway(['--config', file('env.yaml', 'influx:\n  password: ${INFLUX_PASSWORD_FOR_TEST}\n')]);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toContain('env.yaml:2: influx.password: environment variable INFLUX_PASSWORD_FOR_TEST is not set');
  });

  it('refuses hostile YAML (an alias bomb, an alias inside itself, device files that include each other) as config_invalid, naming the file', () => {
    const bomb = file('bomb.yaml', `${aliasBomb()}\ninflux: { mode: off }\n`);
    const exploded = runGateway(['--config', bomb, '--check']);
    expect(exploded.status).toBe(2);
    expect(exploded.stderr).toContain('config_invalid');
    expect(exploded.stderr).toMatch(/bomb\.yaml: \(yaml\): its aliases cannot be expanded: Excessive alias count/);

    const endless = runGateway(['--config', file('endless.yaml', `${aliasInsideItself}influx: { mode: off }\n`), '--check']);
    expect(endless.status).toBe(2);
    expect(endless.stderr).toMatch(/endless\.yaml: \(yaml\): an alias \(\*name\) stands inside the node it names/);

    const a = join(dir, 'devices-a.yaml');
    const b = file('devices-b.yaml', `deviceFiles: [${a}]\n`);
    file('devices-a.yaml', `deviceFiles: [${b}]\n`);
    const looped = runGateway(['--config', file('looped.yaml', `deviceFiles: [${a}]\ninflux: { mode: off }\n`), '--check']);
    expect(looped.status).toBe(2);
    expect(looped.stderr).toContain(`devices-b.yaml:1: deviceFiles[0]: ${a} includes itself`);

    // through a symbolic link to itself
    const link = join(dir, 'link-to-self.yaml');
    const self = file('self.yaml', `deviceFiles: [${link}]\ninflux: { mode: off }\n`);
    symlinkSync(self, link);
    const linked = runGateway(['--config', self, '--check']);
    expect(linked.status).toBe(2);
    expect(linked.stderr).toContain(`self.yaml:1: deviceFiles[0]: ${link} includes itself`);
  });

  it('refuses an invalid rule file with file, line and path', () => {
    const rules = file(
      'rules.yaml',
      [
        'profile: dust-collector',
        'rules:',
        '  - id: hot',
        '    kind: threshold',
        '    metric: hopper_temp',
        '    source: test',
        '    levels:',
        '      orange: { raise: true }',
      ].join('\n'),
    );
    const result = runGateway(['--config', file('with-rules.yaml', `rules: [${rules}]\ninflux: { mode: off }\n`), '--check']);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('rules_invalid');
    expect(result.stderr).toMatch(/rules\.yaml:8.*rules\[0\]\.levels\.orange\.raise/);
  });

  it('accepts the example configuration', () => {
    const result = runGateway(['--config', 'config/example.yaml', '--check'], {
      DEVICE_DC01_HASH: 'scrypt$c2FsdA==$aGFzaA==',
      WEBHOOK_SECRET: 'whsec_dGVzdA==',
      API_OPERATOR_TOKEN: 'operator-token-for-tests',
    });
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(result.stdout).toContain('valid');
  });

  it('accepts the docker-compose configuration', () => {
    const env = {
      DEVICE_DC01_HASH: 'scrypt$c2FsdA==$aGFzaA==',
      API_OPERATOR_TOKEN: 'operator-token-for-tests',
      API_ADMIN_TOKEN: 'admin-token-for-the-tests',
    };
    const result = runGateway(['--config', 'config/docker.yaml', '--check'], env);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
  });
});
