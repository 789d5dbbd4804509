import type { TelemetryConfig } from '@gatehouse/config';

/** The registry's TelemetryConfig, for the services that window, keep and bound telemetry. */
export const TELEMETRY_SETTINGS = Symbol('TELEMETRY_SETTINGS');

/** The start of the telemetry window `time` falls in. */
export function windowStart(time: Date, settings: TelemetryConfig): Date {
  const windowMs = settings.windowSeconds * 1000;
  return new Date(Math.floor(time.getTime() / windowMs) * windowMs);
}

/** The end of an interval of `seconds` starting at `now`, moved up to a window boundary, so that every interval covers whole windows. */
export function intervalEnd(now: Date, seconds: number, settings: TelemetryConfig): Date {
  const windowMs = settings.windowSeconds * 1000;
  return new Date(Math.ceil((now.getTime() + seconds * 1000) / windowMs) * windowMs);
}
