import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { isAbsolute, normalize } from 'node:path';
import { findNonFiniteWeights, type ExternalDataRef } from '@gatehouse/onnx';
import type { CheckOutcome, GateCheck } from '../../check';
import type { GateContext } from '../../gate-context';

/** NaN or Inf in an initializer poisons every output that touches it; name each one. */
export class WeightsFiniteCheck implements GateCheck {
  readonly id = 'weights_finite';
  readonly family = 'validation';
  readonly description = 'no NaN or Inf in any floating-point initializer, in every graph';
  readonly severity = 'critical';
  readonly requires = ['onnx_parses'];
  readonly thresholds = {};
  readonly defaults = {};

  async run(context: GateContext): Promise<CheckOutcome> {
    if (!context.modelPath) return { status: 'skipped', message: 'the version has no ONNX file' };
    const model = await context.onnxModel();
    const { nonFinite, unreadable, checked } = findNonFiniteWeights(model, (ref) => readExternalData(context, ref));
    if (nonFinite.length > 0 || unreadable.length > 0) {
      const named = [
        ...nonFinite.map(
          (weight) =>
            `${weight.tensor} (${weight.graph}): ${[weight.nanCount && `${weight.nanCount} NaN`, weight.infCount && `${weight.infCount} Inf`].filter(Boolean).join(', ')}, first at index ${weight.firstIndex}`,
        ),
        ...unreadable.map((weight) => `${weight.tensor} (${weight.graph}) could not be read: ${weight.reason}`),
      ];
      return { status: 'failed', value: nonFinite.length + unreadable.length, threshold: 0, message: named.join('; '), details: { nonFinite, unreadable } };
    }
    return { status: 'passed', value: 0, threshold: 0, message: `${checked} floating-point initializers, all finite` };
  }

  recommend(result: CheckOutcome): string {
    return (result.details?.unreadable as unknown[] | undefined)?.length
      ? 'Keep external weight files inside the version, at the relative paths the model names.'
      : 'Training diverged or a conversion overflowed: check the loss curve, lower the learning rate or clip gradients, and export from a checkpoint whose weights are finite.';
  }
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
