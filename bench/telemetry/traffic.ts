import type { ReferenceExample } from '@gatehouse/canary-judge';
import { SeededRandom } from '@gatehouse/onnx';

/** The served model's inputs: a few numeric features, as a tabular classifier takes them. */
type Features = Record<'tenureMonths' | 'monthlySpend' | 'supportTickets' | 'sessionMinutes', number>;

const CLASSES = ['stay', 'downgrade', 'churn'] as const;

/** One observation as the wire carries it (the body of POST /v1/models/{name}/telemetry holds these). */
export interface WireObservation {
  version: string;
  time: string;
  latencyMs: number;
  error: boolean;
  prediction: { class: string };
  features: Features;
}

export interface ObservationBatch {
  /** The request body, serialised once before any measurement, so that the client's JSON.stringify is not timed. */
  body: Buffer;
  observations: WireObservation[];
}

function features(random: SeededRandom): Features {
  return {
    tenureMonths: Math.max(0, Math.round(24 + 18 * random.normal())),
    monthlySpend: Math.round(100 * Math.exp(3.5 + 0.6 * random.normal())) / 100,
    supportTickets: Math.floor(-Math.log(1 - random.next()) * 1.5),
    sessionMinutes: Math.round(100 * Math.max(0, 12 + 6 * random.normal())) / 100,
  };
}

/** What a model of these features would predict: churn more likely with tickets and short tenure, noisily. */
function predictedClass(input: Features, random: SeededRandom): string {
  const risk = 0.4 * input.supportTickets - input.tenureMonths / 24 + random.normal();
  return risk > 1 ? CLASSES[2] : risk > 0 ? CLASSES[1] : CLASSES[0];
}

/** The training data the version is registered with: the registry bins the features of its telemetry against it. */
export function trainingExamples(count: number, seed: number): ReferenceExample[] {
  const random = new SeededRandom(seed);
  return Array.from({ length: count }, () => {
    const inputs = features(random);
    return { inputs, label: predictedClass(inputs, random) };
  });
}

/**
 * `batches` batches of `batchSize` observations of one version, drawn like
 * the training data (no drift), at times spread uniformly over `windows`
 * consecutive windows of `windowMs` ending with the current one. Latencies
 * are log-normal around 40 ms; 1% of requests fail.
 */
export function observationBatches(options: { version: string; batches: number; batchSize: number; windows: number; windowMs: number; seed: number }): ObservationBatch[] {
  const random = new SeededRandom(options.seed);
  const firstWindow = Math.floor(Date.now() / options.windowMs) * options.windowMs - (options.windows - 1) * options.windowMs;
  return Array.from({ length: options.batches }, () => {
    const observations = Array.from({ length: options.batchSize }, (): WireObservation => {
      const input = features(random);
      return {
        version: options.version,
        time: new Date(firstWindow + Math.floor(random.next() * options.windows * options.windowMs)).toISOString(),
        latencyMs: Math.round(100 * Math.exp(Math.log(40) + 0.5 * random.normal())) / 100,
        error: random.next() < 0.01,
        prediction: { class: predictedClass(input, random) },
        features: input,
      };
    });
    return { body: Buffer.from(JSON.stringify({ observations })), observations };
  });
}
