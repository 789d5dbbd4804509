import { OnnxParseError } from '@gatehouse/onnx';
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
      return { status: 'failed', message: `${path}: ${(error as Error).message}`, details: { path, cause: causeOf(error) } };
    }
  }

  recommend(result: CheckOutcome): string {
    switch (result.details?.cause as ParseFailure | undefined) {
      case 'incomplete':
        return 'The file is a protobuf but not a whole model (no graph, or no IR version): save the ModelProto the exporter returns (onnx.save(model, path)), not a bare graph or tensor; `python -m onnx.checker` reproduces this check.';
      case 'unreadable':
        return 'The gate could not read the model file (the message says why): register the version again with the .onnx file as an ordinary file among its files.';
    }
    return 'The file is not an ONNX model, or was cut short before it was registered (the stored bytes are the ones committed): export the model again (torch.onnx.export, tf2onnx, skl2onnx) and register the file the exporter wrote; `python -m onnx.checker` reproduces this check.';
  }
}

type ParseFailure = 'not_onnx' | 'incomplete' | 'unreadable';

function causeOf(error: unknown): ParseFailure {
  if (!(error instanceof OnnxParseError)) return 'unreadable';
  // OnnxModel.parse says "not a valid ONNX protobuf" when decoding fails, and names what is missing from one that decodes.
  return error.message.startsWith('not a valid ONNX protobuf') ? 'not_onnx' : 'incomplete';
}
