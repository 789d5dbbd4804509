import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { isAbsolute, normalize } from 'node:path';
import { findNonFiniteTensors, type ExternalDataRef, type NonFiniteTensor } from '@gatehouse/onnx';
import type { CheckOutcome, GateCheck } from '../../check';
import type { GateContext } from '../../gate-context';

type Thresholds = { failOnNaN: boolean; failOnInf: boolean };

/**
 * NaN in any tensor the model carries poisons every output that touches it,
 * and so does an infinity that reaches weight arithmetic (a Conv or MatMul
 * operand, a normalisation scale, a recurrent weight). Infinities elsewhere
 * are often deliberate (Clip bounds, masks added before a Softmax, sentinels
 * for Min, Max or Where): they are named, and pass. A policy that turns
 * failOnNaN or failOnInf off still has them named, as a warning.
 */
export class WeightsFiniteCheck implements GateCheck<Thresholds> {
  readonly id = 'weights_finite';
  readonly family = 'validation';
  readonly description = 'no NaN in any tensor the model carries, and no Inf where it feeds weight arithmetic, in every graph and function';
  readonly severity = 'critical';
  readonly requires = ['onnx_parses'];
  readonly thresholds = {
    failOnNaN: { type: 'boolean', description: 'a tensor holding NaN fails the check (otherwise it warns)' },
    failOnInf: { type: 'boolean', description: 'an Inf feeding weight arithmetic fails the check (otherwise it warns); Inf in bounds and masks always passes' },
  } as const;
  readonly defaults = { failOnNaN: true, failOnInf: true };

  async run(context: GateContext, thresholds: Thresholds): Promise<CheckOutcome> {
    if (!context.modelPath) return { status: 'skipped', message: 'the version has no ONNX file' };
    const model = await context.onnxModel();
    const { nonFinite, unreadable, checked } = findNonFiniteTensors(model, (ref) => readExternalData(context, ref));
    const poisoned = nonFinite.filter((tensor) => tensor.nanCount > 0 || tensor.feedsWeightArithmetic);
    const tolerated = nonFinite.filter((tensor) => !poisoned.includes(tensor));
    const blocking = poisoned.filter((tensor) => (thresholds.failOnNaN && tensor.nanCount > 0) || (thresholds.failOnInf && tensor.infCount > 0 && tensor.feedsWeightArithmetic));
    const details = { checked, nonFinite: poisoned, tolerated, unreadable };
    const named = (tensors: NonFiniteTensor[]) => tensors.map((tensor) => `${describe(tensor)}${tensor.nanCount === 0 ? `, feeding ${tensor.uses.join(', ')}` : ''}`);
    if (blocking.length > 0 || unreadable.length > 0) {
      const problems = [...named(blocking), ...unreadable.map((tensor) => `${tensor.tensor} (${tensor.graph}) could not be read: ${tensor.reason}`)];
      return { status: 'failed', value: poisoned.length + unreadable.length, threshold: 0, message: problems.join('; '), details };
    }
    if (poisoned.length > 0) {
      const off = [!thresholds.failOnNaN && 'failOnNaN', !thresholds.failOnInf && 'failOnInf'].filter(Boolean).join(' and ');
      return { status: 'warning', value: poisoned.length, threshold: 0, message: `${named(poisoned).join('; ')} (not failed: the policy turns ${off} off)`, details };
    }
    const allowed = tolerated.map((tensor) => `${describe(tensor)}, used by ${tensor.uses.join(', ') || 'nothing'}`);
    return {
      status: 'passed',
      value: 0,
      threshold: 0,
      message: `${checked} floating-point tensors, no NaN${allowed.length > 0 ? `; infinities only where they are bounds or masks: ${allowed.join('; ')}` : ', all finite'}`,
      details,
    };
  }

  recommend(result: CheckOutcome): string {
    return (result.details?.unreadable as unknown[] | undefined)?.length
      ? 'Keep external weight files inside the version, at the relative paths the model names.'
      : 'Training diverged or a conversion overflowed: check the loss curve, lower the learning rate or clip gradients, and export from a checkpoint whose weights are finite.';
  }
}

function describe(tensor: NonFiniteTensor): string {
  const counts = [tensor.nanCount && `${tensor.nanCount} NaN`, tensor.infCount && `${tensor.infCount} Inf`].filter(Boolean).join(', ');
  const source = tensor.source === 'initializer' ? '' : `, ${tensor.source}`;
  return `${tensor.tensor} (${tensor.graph}${source}): ${counts}, first at index ${tensor.firstIndex}`;
}

/** Reads an external tensor's bytes from the version's own files, and nothing outside them. */
function readExternalData(context: GateContext, ref: ExternalDataRef): Uint8Array {
  const location = normalize(ref.location);
  if (ref.location === '' || isAbsolute(ref.location) || location.startsWith('..')) throw new Error(`external data location "${ref.location}" is not a path inside the version`);
  if (!context.subject.files.some((file) => file.path === location)) throw new Error(`external data file "${ref.location}" is not part of the version`);
  const path = context.absolutePath(location);
  const size = statSync(path).size;
  const length = ref.length ?? size - ref.offset;
  if (ref.offset < 0 || length < 0 || ref.offset + length > size) throw new Error(`external data [${ref.offset}, +${length}) lies outside "${ref.location}" (${size} bytes)`);
  const bytes = Buffer.alloc(length);
  const descriptor = openSync(path, 'r');
  try {
    readSync(descriptor, bytes, 0, length, ref.offset);
  } finally {
    closeSync(descriptor);
  }
  return bytes;
}
