import { InvalidTelemetryError, parseLabelBatch, parseTelemetryBatch } from './telemetry-batch';

const NOW = new Date('2026-12-04T19:00:00Z');
const LIMITS = { maxObservations: 3, retentionMs: 24 * 3600_000 };
const parse = (observations: unknown[]) => parseTelemetryBatch({ observations }, LIMITS, NOW);

function refusal(work: () => unknown): { message: string; field: unknown } {
  try {
    work();
  } catch (error) {
    if (!(error instanceof InvalidTelemetryError)) throw error;
    return { message: error.message, field: (error.details as { field: string }).field };
  }
  throw new Error('expected the batch to be refused');
}

describe('parseTelemetryBatch', () => {
  it('reads every field of an observation, defaulting time to now and error to false', () => {
    expect(
      parse([
        { version: '1.0.0', latencyMs: 12.5 },
        {
          version: '1.0.0',
          time: '2026-12-04T18:59:00Z',
          requestId: 'r-1',
          latencyMs: 0,
          error: true,
          prediction: { class: 'cat' },
          features: { age: 31, pixels: [0.5, 1] },
          label: 2,
        },
      ]),
    ).toEqual([
      { version: '1.0.0', time: NOW, latencyMs: 12.5, error: false },
      {
        version: '1.0.0',
        time: new Date('2026-12-04T18:59:00Z'),
        requestId: 'r-1',
        latencyMs: 0,
        error: true,
        prediction: { class: 'cat' },
        features: { age: 31, pixels: [0.5, 1] },
        label: 2,
      },
    ]);
  });

  it('takes a prediction as a class, a value or scores, exactly one of them', () => {
    expect(parse([{ version: '1', latencyMs: 1, prediction: { value: -3.5 } }])[0].prediction).toEqual({ value: -3.5 });
    expect(parse([{ version: '1', latencyMs: 1, prediction: { scores: [0.1, 0.9] } }])[0].prediction).toEqual({ scores: [0.1, 0.9] });
    expect(refusal(() => parse([{ version: '1', latencyMs: 1, prediction: { class: 1, value: 2 } }])).message).toMatch(/exactly one of "class"/);
    expect(refusal(() => parse([{ version: '1', latencyMs: 1, prediction: {} }])).field).toBe('observations[0].prediction');
  });

  it.each([
    [{ version: '1', latencyMs: -1 }, 'observations[1].latencyMs', /finite number >= 0, not -1/],
    [{ version: '1', latencyMs: '3' }, 'observations[1].latencyMs', /not "3"/],
    [{ version: '1' }, 'observations[1].latencyMs', /not missing/],
    [{ latencyMs: 1 }, 'observations[1].version', /must name the version/],
    [{ version: '1', latencyMs: 1, error: 'yes' }, 'observations[1].error', /true or false/],
    [{ version: '1', latencyMs: 1, time: 'yesterday' }, 'observations[1].time', /ISO 8601/],
    [{ version: '1', latencyMs: 1, time: '2026-12-04T20:00:00Z' }, 'observations[1].time', /in the future/],
    [{ version: '1', latencyMs: 1, time: '2026-11-01T00:00:00Z' }, 'observations[1].time', /older than telemetry is kept/],
    [{ version: '1', latencyMs: 1, features: { age: [1, 'x'] } }, 'observations[1].features.age[1]', /finite number/],
    [{ version: '1', latencyMs: 1, features: [1] }, 'observations[1].features', /object of input name/],
    [{ version: '1', latencyMs: 1, label: null }, 'observations[1].label', /class label/],
    [{ version: '1', latencyMs: 1, requestId: '' }, 'observations[1].requestId', /1 to 200 characters/],
    [{ version: '1', latencyMs: 1, latency: 3 }, 'observations[1].latency', /not a field of an observation/],
    ['12', 'observations[1]', /must be an object/],
  ])('refuses the whole batch at its first bad observation: %j', (bad, field, message) => {
    const refused = refusal(() => parse([{ version: '1', latencyMs: 1 }, bad, { version: 'also bad' }]));
    expect(refused.field).toBe(field);
    expect(refused.message).toMatch(message);
    expect(refused.message).toMatch(/nothing from this batch was kept/);
  });

  it('refuses a body that is not a batch, an empty one and one over the limit', () => {
    expect(refusal(() => parseTelemetryBatch([], LIMITS, NOW)).field).toBe('body');
    expect(refusal(() => parseTelemetryBatch({ observations: [], extra: 1 }, LIMITS, NOW)).field).toBe('body.extra');
    expect(refusal(() => parse([])).message).toMatch(/empty/);
    expect(refusal(() => parse(Array.from({ length: 4 }, () => ({ version: '1', latencyMs: 1 })))).message).toMatch(/more than 3 in one batch: split it/);
  });
});

describe('parseLabelBatch', () => {
  it('reads labels keyed by request id', () => {
    expect(parseLabelBatch({ labels: [{ requestId: 'r-1', label: 'cat' }] }, 10)).toEqual([{ requestId: 'r-1', label: 'cat' }]);
  });

  it('names the first bad label', () => {
    expect(refusal(() => parseLabelBatch({ labels: [{ requestId: 'r-1', label: 'cat' }, { requestId: 'r-2' }] }, 10)).field).toBe('labels[1].label');
    expect(refusal(() => parseLabelBatch({ labels: [{ requestId: 'r-1', label: 1, score: 2 }] }, 10)).field).toBe('labels[0].score');
    expect(refusal(() => parseLabelBatch({ labels: [] }, 10)).message).toMatch(/empty/);
  });
});
