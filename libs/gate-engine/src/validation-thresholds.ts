import type { GateCheck } from './check';
import { readJsonConfig, thresholdProblem, type StagePolicy } from './gate-policy';
import { FileProblemsError } from '@gatehouse/errors';

/**
 * The product brief's flat thresholds file (config/validation.json), which
 * `gatehouse validate --thresholds` takes: each key sets one threshold of one
 * check, over the stage's policy. Types and bounds are the checks' own.
 */
const THRESHOLD_KEYS = {
  min_val_accuracy: { check: 'evaluation', threshold: 'minAccuracy' },
  min_train_accuracy: { check: 'train_accuracy', threshold: 'minAccuracy' },
  // In MiB, as config/gates.json reads the brief's "100 MB".
  max_model_size_mb: { check: 'size_limit', threshold: 'maxMiB' },
  // weights_finite fails on NaN anywhere and on Inf only where it feeds weight arithmetic; off, either still warns.
  check_nan_weights: { check: 'weights_finite', threshold: 'failOnNaN' },
  check_inf_weights: { check: 'weights_finite', threshold: 'failOnInf' },
  max_final_loss: { check: 'final_loss', threshold: 'maxLoss' },
  min_sample_quality: { check: 'sample_quality', threshold: 'minSampleQuality' },
} as const;

export type ValidationThresholdKey = keyof typeof THRESHOLD_KEYS;
export type ValidationThresholds = Partial<Record<ValidationThresholdKey, number | boolean>>;
export const VALIDATION_THRESHOLD_KEYS = Object.keys(THRESHOLD_KEYS) as ValidationThresholdKey[];

export class ValidationThresholdsError extends FileProblemsError {
  constructor(source: string, problems: string[]) {
    super('thresholds file', source, problems);
  }
}

export function loadValidationThresholds(path: string, checks: readonly GateCheck[]): ValidationThresholds {
  return parseValidationThresholds(
    readJsonConfig(path, (problem) => new ValidationThresholdsError(path, [problem])),
    checks,
    path,
  );
}

/** Validates every key at once: an unknown one is named with the keys there are, a wrong value with what it must be. */
export function parseValidationThresholds(json: unknown, checks: readonly GateCheck[], source = 'thresholds'): ValidationThresholds {
  if (typeof json !== 'object' || json === null || Array.isArray(json))
    throw new ValidationThresholdsError(source, [`must be a JSON object of thresholds (keys: ${VALIDATION_THRESHOLD_KEYS.join(', ')})`]);
  const problems: string[] = [];
  const thresholds: ValidationThresholds = {};
  for (const [key, value] of Object.entries(json)) {
    if (key === '$comment') continue;
    if (!isThresholdKey(key)) {
      problems.push(`${key}: unknown key (known: ${VALIDATION_THRESHOLD_KEYS.join(', ')})`);
      continue;
    }
    const target = THRESHOLD_KEYS[key];
    const spec = checks.find((check) => check.id === target.check)!.thresholds[target.threshold];
    const problem = thresholdProblem(spec, value);
    if (problem) problems.push(`${key}: ${problem}`);
    else thresholds[key] = value as number | boolean;
  }
  if (problems.length > 0) throw new ValidationThresholdsError(source, problems);
  return thresholds;
}

/** The stage policy with the thresholds set on the checks it runs; a threshold of a check it does not run changes nothing. */
export function applyValidationThresholds(policy: StagePolicy, thresholds: ValidationThresholds): StagePolicy {
  return {
    ...policy,
    checks: policy.checks.map((entry) => {
      const set = VALIDATION_THRESHOLD_KEYS.filter((key) => THRESHOLD_KEYS[key].check === entry.id && thresholds[key] !== undefined);
      if (set.length === 0) return entry;
      return { ...entry, thresholds: { ...entry.thresholds, ...Object.fromEntries(set.map((key) => [THRESHOLD_KEYS[key].threshold, thresholds[key]!])) } };
    }),
  };
}

function isThresholdKey(key: string): key is ValidationThresholdKey {
  return Object.hasOwn(THRESHOLD_KEYS, key);
}
