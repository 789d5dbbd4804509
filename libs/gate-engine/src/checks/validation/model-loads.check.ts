import type { CheckOutcome, GateCheck } from '../../check';
import type { GateContext } from '../../gate-context';

/** onnxruntime, not the protobuf, decides whether the model can serve: unknown operators and bad types stop here. */
export class ModelLoadsCheck implements GateCheck {
  readonly id = 'model_loads';
  readonly family = 'validation';
  readonly description = 'onnxruntime-node creates an inference session from the model';
  readonly severity = 'critical';
  // A model the scan refused never reaches onnxruntime: loading alone would read escaping external data or custom-op code.
  readonly requires = ['onnx_parses', 'artifact_scan'];
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
      return { status: 'failed', message: (error as Error).message };
    }
  }

  recommend(): string {
    return 'Export with an opset and operators onnxruntime supports (see its operator kernels list), and load it locally with onnxruntime before registering.';
  }
}
