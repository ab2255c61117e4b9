import pino, { type Logger } from 'pino';

export type { Logger } from 'pino';

/** The one pino root; components take `logger.child({ component })`. Secrets are redacted wherever they appear. */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'risk-gateway' },
      redact: {
        paths: [
          'password',
          'secret',
          'secrets',
          'token',
          'authorization',
          '*.password',
          '*.secret',
          '*.secrets',
          '*.token',
          '*.authorization',
          'headers.authorization',
        ],
        censor: '[redacted]',
      },
    },
    destination,
  );
}
