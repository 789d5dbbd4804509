import { compareWithReference, type ReferenceComparison } from '../../evaluation';
import type { CheckOutcome, GateCheck } from '../../check';
import type { GateContext } from '../../gate-context';

type Thresholds = { maxAbsDiff: number };

/** The exported graph must compute what the training framework computed: conversion bugs show up here. */
export class OutputConsistencyCheck implements GateCheck<Thresholds> {
  readonly id = 'output_consistency';
  readonly family = 'validation';
  readonly description = 'outputs match the reference outputs registered with the version';
  readonly severity = 'critical';
  readonly requires = ['model_loads'];
  readonly thresholds = { maxAbsDiff: { type: 'number', min: 0, description: 'largest absolute difference from a reference output' } } as const;
  readonly defaults = { maxAbsDiff: 1e-4 };

  async run(context: GateContext, thresholds: Thresholds): Promise<CheckOutcome> {
    const reference = context.dataset('reference');
    if (!reference) return { status: 'skipped', message: 'the version names no reference dataset' };
    if (reference.problem) return { status: 'failed', message: `reference dataset ${reference.name}: ${reference.problem}`, recommendation: UNUSABLE_REFERENCE_ADVICE };
    if (!reference.path) return { status: 'skipped', message: `reference dataset ${reference.name} has no stored file` };
    const comparison = await compareWithReference(await context.session(), reference.path, { batchSize: context.settings.batchSize, signal: context.signal });
    const details = { dataset: reference.name, ...comparison };
    if (comparison.examples === 0) return { status: 'failed', message: `reference dataset ${reference.name} has no examples`, details, recommendation: UNUSABLE_REFERENCE_ADVICE };
    const worst = comparison.worst!;
    const where = `line ${worst.line}, output "${worst.output}"[${worst.index}]: expected ${worst.expected}, got ${worst.actual}`;
    if (!(comparison.maxAbsDiff <= thresholds.maxAbsDiff)) {
      return {
        status: 'failed',
        value: comparison.maxAbsDiff,
        threshold: thresholds.maxAbsDiff,
        message: `outputs differ by up to ${comparison.maxAbsDiff.toExponential(2)} (${where}), more than ${thresholds.maxAbsDiff}`,
        details,
      };
    }
    return {
      status: 'passed',
      value: comparison.maxAbsDiff,
      threshold: thresholds.maxAbsDiff,
      message: `${comparison.examples} examples within ${comparison.maxAbsDiff.toExponential(2)} of the reference`,
      details,
    };
  }

  recommend(result: CheckOutcome): string {
    const worst = result.details?.worst as ReferenceComparison['worst'] | undefined;
    if (worst && !Number.isFinite(worst.actual))
      return `The model gives ${worst.actual} where the framework gave ${worst.expected} (line ${worst.line} of the reference data): look for log, sqrt or division of invalid values and for overflow (float16 especially) in the exported graph.`;
    return "The ONNX export does not reproduce the framework's outputs: check the opset, preprocessing baked into the graph, and ops exported with different semantics (e.g. layer norm epsilon, upsampling modes).";
  }
}

const UNUSABLE_REFERENCE_ADVICE =
  'Register the version with a reference dataset stored intact that holds examples: one JSON object per line, {"inputs": {…}, "outputs": {…}}, the outputs the training framework computed for those inputs.';
