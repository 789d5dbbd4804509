import type { CheckOutcome, GateCheck } from '../../check';
import type { GateContext } from '../../gate-context';

/** The protobuf itself: a truncated or foreign file stops here, before onnxruntime sees it. */
export class OnnxParsesCheck implements GateCheck {
  readonly id = 'onnx_parses';
  readonly family = 'validation';
  readonly description = 'the ONNX file is a well-formed ModelProto with a graph';
  readonly severity = 'critical';
  readonly requires = ['files_intact'];
  readonly thresholds = {};
  readonly defaults = {};

  async run(context: GateContext): Promise<CheckOutcome> {
    const path = context.modelPath;
    if (!path) return { status: 'skipped', message: 'the version has no ONNX file' };
    try {
      const model = await context.onnxModel();
      return {
        status: 'passed',
        message: `${path} parses: IR ${model.irVersion}, opsets ${model.opsets.map((opset) => `${opset.domain || 'ai.onnx'} ${opset.version}`).join(', ')}`,
        details: { path, irVersion: model.irVersion, producer: model.producer, opsets: model.opsets, inputs: model.inputs, outputs: model.outputs },
      };
    } catch (error) {
      return { status: 'failed', message: `${path}: ${(error as Error).message}`, details: { path } };
    }
  }

  recommend(): string {
    return 'Export the model again (torch.onnx.export, tf2onnx, skl2onnx) and check the upload was not cut short; `python -m onnx.checker` reproduces this check.';
  }
}
