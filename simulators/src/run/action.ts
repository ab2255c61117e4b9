/** What a simulated device does at one moment of (virtual or real) time. */
export type DeviceAction =
  | { kind: 'connect'; at: number; device: string }
  /** `graceful: false` drops the connection without DISCONNECT, so the broker publishes the Last Will. */
  | { kind: 'disconnect'; at: number; device: string; graceful: boolean }
  | {
      kind: 'publish';
      at: number;
      device: string;
      topic: string;
      payload: string;
      retain: boolean;
      /** What the message is, for statistics and tests. */
      role: 'status' | 'telemetry' | 'backlog' | 'duplicate' | 'malformed';
      /** Readings in the message (0 for status and malformed). */
      readings: number;
    };

export const statusTopic = (site: string, device: string): string => `sites/${site}/devices/${device}/status`;
export const telemetryTopic = (site: string, device: string): string => `sites/${site}/devices/${device}/telemetry`;
