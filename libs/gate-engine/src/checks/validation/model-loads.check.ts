import type { CheckOutcome, GateCheck } from '../../check';
import type { GateContext } from '../../gate-context';

/** onnxruntime, not the protobuf, decides whether the model can serve: unknown operators and bad types stop here. */
export class ModelLoadsCheck implements GateCheck {
  readonly id = 'model_loads';
  readonly family = 'validation';
  readonly description = 'onnxruntime-node creates an inference session from the model';
  readonly severity = 'critical';
  // A model the scan refused never reaches onnxruntime: loading alone would read escaping external data or custom-op code.
  // One with NaN weights is not run either: every check that runs it would fail again on the same cause.
  readonly requires = ['onnx_parses', 'artifact_scan', 'weights_finite'];
  readonly thresholds = {};
  readonly defaults = {};

  async run(context: GateContext): Promise<CheckOutcome> {
    if (!context.modelPath) return { status: 'skipped', message: 'the version has no ONNX file' };
    const started = performance.now();
    try {
      const session = await context.session();
      return {
        status: 'passed',
        value: Math.round(performance.now() - started),
        message: `loaded in onnxruntime: inputs ${session.inputs.map((input) => input.name).join(', ')}; outputs ${session.outputs.map((output) => output.name).join(', ')}`,
        details: { loadMs: performance.now() - started, inputs: session.inputs, outputs: session.outputs },
      };
    } catch (error) {
      const message = (error as Error).message;
      return { status: 'failed', message, details: { cause: LOAD_FAILURES.find(({ pattern }) => pattern.test(message))?.cause ?? 'refused' } };
    }
  }

  recommend(result: CheckOutcome): string {
    switch (result.details?.cause as LoadFailure | undefined) {
      case 'unknown_operator':
        return 'onnxruntime has no kernel for an operator the graph uses (the message names it): export with operators from the standard ai.onnx domain at an opset onnxruntime implements, or replace the custom operator; the gate loads no custom-op libraries.';
      case 'unsupported_version':
        return "The model's IR version or opset is newer than the registry's onnxruntime supports (the message names both): export again with a lower opset (e.g. torch.onnx.export(..., opset_version=17)).";
      case 'external_data':
        return 'Weights stored as external data are missing or outside the version: register the external data files with the model, at the relative paths the model names.';
    }
    return 'onnxruntime refused the model (the message has its error): run onnx.checker.check_model(model, full_check=True) to find the node at fault, export with operators and types onnxruntime supports, and load it locally with onnxruntime before registering.';
  }
}

type LoadFailure = 'unknown_operator' | 'unsupported_version' | 'external_data' | 'refused';

/** onnxruntime's own words for the load failures that need different fixes. */
const LOAD_FAILURES: { cause: LoadFailure; pattern: RegExp }[] = [
  { cause: 'unknown_operator', pattern: /No Op registered for|Could not find an implementation|is not a registered function\/op/ },
  { cause: 'unsupported_version', pattern: /Unsupported model IR version|Opset \d+ is under development|opset versions/i },
  { cause: 'external_data', pattern: /external data/i },
];
