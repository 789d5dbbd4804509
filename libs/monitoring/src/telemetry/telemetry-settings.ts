/** How telemetry is windowed, kept and bounded: from the registry's configuration. */
export interface TelemetrySettings {
  /** Observations fold into windows this long; analysis intervals are whole numbers of them. */
  windowSeconds: number;
  /** Windows older than this are dropped. */
  retentionDays: number;
  /** How long a prediction reported with a request id waits for its label. */
  labelWaitHours: number;
  /** Observations (or labels) in one batch, at most. */
  maxBatch: number;
}

export const TELEMETRY_SETTINGS = Symbol('TELEMETRY_SETTINGS');
