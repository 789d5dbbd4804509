import type { Observation } from '@gatehouse/canary-judge';
import { DomainError } from '@gatehouse/errors';

/** One observation as a serving system reports it: what happened to one request. */
export interface ReportedObservation extends Observation {
  version: string;
  /** When the request was served; the server's clock when it was not given. */
  time: Date;
  /** The serving system's id for the request, so that a label sent later finds its prediction. */
  requestId?: string;
}

export interface TelemetryBatchLimits {
  maxObservations: number;
  /** Observations older than this are refused: their windows are gone, or about to be. */
  retentionMs: number;
}

/** Clocks of serving hosts run a little ahead; an observation further in the future than this is a bug in the reporter. */
const MAX_CLOCK_SKEW_MS = 5 * 60_000;
const MAX_FEATURES = 256;
const MAX_VECTOR_LENGTH = 4096;
const MAX_ID_LENGTH = 200;
const OBSERVATION_FIELDS = new Set(['version', 'time', 'requestId', 'latencyMs', 'error', 'prediction', 'features', 'label']);
const PREDICTION_FIELDS = ['class', 'value', 'scores'] as const;
const ISO_TIME = /^\d{4}-\d{2}-\d{2}T/;

/** The batch is refused as a whole: the message names the first bad observation and what to send instead. */
export class InvalidTelemetryError extends DomainError {
  constructor(field: string, problem: string) {
    super('invalid', 'invalid_telemetry', `${field} ${problem}; nothing from this batch was kept`, { field });
  }
}

/**
 * Checks a telemetry body, `{observations: [...]}`, and returns its
 * observations; throws InvalidTelemetryError naming the first bad field. Hand
 * written rather than class-validator DTOs: a batch holds thousands of
 * observations, and per-object decorator validation would cost more than
 * folding them.
 */
export function parseTelemetryBatch(body: unknown, limits: TelemetryBatchLimits, now = new Date()): ReportedObservation[] {
  if (!isRecord(body) || !Array.isArray(body.observations)) throw new InvalidTelemetryError('body', 'must be {"observations": [...]}, an object holding an array');
  const extra = Object.keys(body).find((key) => key !== 'observations');
  if (extra !== undefined) throw new InvalidTelemetryError(`body.${extra}`, 'is not a field of a telemetry batch (only "observations")');
  const observations: unknown[] = body.observations;
  if (observations.length === 0) throw new InvalidTelemetryError('observations', 'is empty: send at least one observation');
  if (observations.length > limits.maxObservations) {
    throw new InvalidTelemetryError('observations', `holds ${observations.length} observations, more than ${limits.maxObservations} in one batch: split it`);
  }
  const oldest = now.getTime() - limits.retentionMs;
  const newest = now.getTime() + MAX_CLOCK_SKEW_MS;
  return observations.map((raw, index) => parseObservation(raw, `observations[${index}]`, { oldest, newest, now }));
}

export interface ReportedLabel {
  requestId: string;
  label: string | number;
}

/** `{labels: [{requestId, label}]}`: labels that arrived after their predictions. */
export function parseLabelBatch(body: unknown, maxLabels: number): ReportedLabel[] {
  if (!isRecord(body) || !Array.isArray(body.labels)) throw new InvalidTelemetryError('body', 'must be {"labels": [{"requestId": ..., "label": ...}]}');
  const extra = Object.keys(body).find((key) => key !== 'labels');
  if (extra !== undefined) throw new InvalidTelemetryError(`body.${extra}`, 'is not a field of a label batch (only "labels")');
  const labels: unknown[] = body.labels;
  if (labels.length === 0) throw new InvalidTelemetryError('labels', 'is empty: send at least one label');
  if (labels.length > maxLabels) throw new InvalidTelemetryError('labels', `holds ${labels.length} labels, more than ${maxLabels} in one batch: split it`);
  return labels.map((raw, index) => {
    const at = `labels[${index}]`;
    if (!isRecord(raw)) throw new InvalidTelemetryError(at, 'must be an object {"requestId": ..., "label": ...}');
    const extraField = Object.keys(raw).find((key) => key !== 'requestId' && key !== 'label');
    if (extraField !== undefined) throw new InvalidTelemetryError(`${at}.${extraField}`, 'is not a field of a label (only "requestId" and "label")');
    return { requestId: parseId(raw.requestId, `${at}.requestId`), label: parseLabel(raw.label, `${at}.label`) };
  });
}

function parseObservation(raw: unknown, at: string, clock: { oldest: number; newest: number; now: Date }): ReportedObservation {
  if (!isRecord(raw)) throw new InvalidTelemetryError(at, 'must be an object');
  // for…in rather than Object.keys: a batch holds thousands of observations, and this allocates nothing per one.
  for (const key in raw) {
    if (!OBSERVATION_FIELDS.has(key)) throw new InvalidTelemetryError(`${at}.${key}`, `is not a field of an observation (fields: ${[...OBSERVATION_FIELDS].join(', ')})`);
  }
  if (typeof raw.version !== 'string' || raw.version.length === 0) throw new InvalidTelemetryError(`${at}.version`, 'must name the version that served the request');
  if (typeof raw.latencyMs !== 'number' || !Number.isFinite(raw.latencyMs) || raw.latencyMs < 0) {
    throw new InvalidTelemetryError(`${at}.latencyMs`, `must be the request's latency in milliseconds, a finite number >= 0, not ${describe(raw.latencyMs)}`);
  }
  if (raw.error !== undefined && typeof raw.error !== 'boolean') throw new InvalidTelemetryError(`${at}.error`, `must be true or false, not ${describe(raw.error)}`);
  const observation: ReportedObservation = { version: raw.version, time: parseTime(raw.time, `${at}.time`, clock), latencyMs: raw.latencyMs, error: raw.error ?? false };
  if (raw.requestId !== undefined) observation.requestId = parseId(raw.requestId, `${at}.requestId`);
  if (raw.prediction !== undefined) observation.prediction = parsePrediction(raw.prediction, `${at}.prediction`);
  if (raw.features !== undefined) observation.features = parseFeatures(raw.features, `${at}.features`);
  if (raw.label !== undefined) observation.label = parseLabel(raw.label, `${at}.label`);
  return observation;
}

function parseTime(raw: unknown, at: string, clock: { oldest: number; newest: number; now: Date }): Date {
  if (raw === undefined) return clock.now;
  const ms = typeof raw === 'string' && ISO_TIME.test(raw) ? Date.parse(raw) : Number.NaN;
  if (Number.isNaN(ms)) throw new InvalidTelemetryError(at, `must be an ISO 8601 time such as "2026-12-04T19:00:00Z", not ${describe(raw)}`);
  if (ms > clock.newest) throw new InvalidTelemetryError(at, `${describe(raw)} is in the future: check the reporting host's clock`);
  if (ms < clock.oldest) throw new InvalidTelemetryError(at, `${describe(raw)} is older than telemetry is kept (TELEMETRY_RETENTION_DAYS)`);
  return new Date(ms);
}

function parseId(raw: unknown, at: string): string {
  if (typeof raw !== 'string' || raw.length === 0 || raw.length > MAX_ID_LENGTH) throw new InvalidTelemetryError(at, `must be a string of 1 to ${MAX_ID_LENGTH} characters`);
  return raw;
}

function parsePrediction(raw: unknown, at: string): NonNullable<Observation['prediction']> {
  if (!isRecord(raw)) throw new InvalidTelemetryError(at, 'must be an object with one of "class", "value" or "scores"');
  const given = Object.keys(raw);
  const unknown = given.find((key) => !(PREDICTION_FIELDS as readonly string[]).includes(key));
  if (unknown !== undefined) throw new InvalidTelemetryError(`${at}.${unknown}`, 'is not a field of a prediction (one of "class", "value" or "scores")');
  if (given.length !== 1) throw new InvalidTelemetryError(at, 'must hold exactly one of "class" (a class label), "value" (a number) or "scores" (one number per class)');
  if (raw.class !== undefined) return { class: parseLabel(raw.class, `${at}.class`) };
  if (raw.value !== undefined) return { value: parseFinite(raw.value, `${at}.value`) };
  return { scores: parseVector(raw.scores, `${at}.scores`) };
}

function parseFeatures(raw: unknown, at: string): Record<string, number | number[]> {
  if (!isRecord(raw)) throw new InvalidTelemetryError(at, 'must be an object of input name to number or array of numbers');
  const names = Object.keys(raw);
  if (names.length > MAX_FEATURES) throw new InvalidTelemetryError(at, `holds ${names.length} features, more than ${MAX_FEATURES}`);
  const features: Record<string, number | number[]> = {};
  for (const name of names) {
    const value = raw[name];
    features[name] = Array.isArray(value) ? parseVector(value, `${at}.${name}`) : parseFinite(value, `${at}.${name}`);
  }
  return features;
}

function parseLabel(raw: unknown, at: string): string | number {
  if (typeof raw === 'string' && raw.length > 0 && raw.length <= MAX_ID_LENGTH) return raw;
  if (typeof raw === 'number' && Number.isFinite(raw)) return raw;
  throw new InvalidTelemetryError(at, `must be a class label (a string of 1 to ${MAX_ID_LENGTH} characters) or a finite number, not ${describe(raw)}`);
}

function parseVector(raw: unknown, at: string): number[] {
  if (!Array.isArray(raw) || raw.length === 0 || raw.length > MAX_VECTOR_LENGTH)
    throw new InvalidTelemetryError(at, `must be an array of 1 to ${MAX_VECTOR_LENGTH} finite numbers`);
  raw.forEach((value, index) => parseFinite(value, `${at}[${index}]`));
  return raw as number[];
}

function parseFinite(raw: unknown, at: string): number {
  if (typeof raw !== 'number' || !Number.isFinite(raw)) throw new InvalidTelemetryError(at, `must be a finite number, not ${describe(raw)}`);
  return raw;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describe(value: unknown): string {
  if (value === undefined) return 'missing';
  // JSON.stringify answers undefined only for functions and symbols, which a parsed body cannot hold.
  const text = JSON.stringify(value) ?? typeof value;
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}
