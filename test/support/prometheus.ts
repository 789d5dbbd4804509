import { spawnSync } from 'node:child_process';

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+-?\d+)?$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*,?\s*/y;

/** The samples of a Prometheus text exposition; throws on any line that is neither a comment nor a sample. */
export function samplesOf(exposition: string): Sample[] {
  return exposition
    .split('\n')
    .filter((line) => line.trim() !== '' && !line.startsWith('#'))
    .map((line) => {
      const match = SAMPLE.exec(line);
      if (!match) throw new Error(`not a sample line: ${line}`);
      const [, name, labelText = '', valueText] = match;
      const labels: Record<string, string> = {};
      LABEL.lastIndex = 0;
      while (LABEL.lastIndex < labelText.length) {
        const label = LABEL.exec(labelText);
        if (!label) throw new Error(`bad labels in: ${line}`);
        labels[label[1]] = label[2].replace(/\\(.)/g, (_all, escaped: string) => (escaped === 'n' ? '\n' : escaped));
      }
      return { name, labels, value: Number(valueText) };
    });
}

/** The value of the one sample named `name` whose labels include `labels`, 0 when there is none (a counter not yet incremented). */
export function sampleValue(samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  const matching = samples.filter((sample) => sample.name === name && Object.entries(labels).every(([key, value]) => sample.labels[key] === value));
  if (matching.length > 1) throw new Error(`${matching.length} samples of ${name} match ${JSON.stringify(labels)}`);
  return matching[0]?.value ?? 0;
}

/**
 * prom-client's own default gauges whose names end in _total, which promtool's lint refuses for a gauge. The names
 * are prom-client's, kept as they are so that dashboards made for them work.
 */
const PROM_CLIENT_LINT = /^nodejs_active_(handles|requests|resources)_total non-counter metrics should not have "_total" suffix$/;

/**
 * `promtool check metrics` on an exposition: whether it parsed, and the lint problems it reported (names,
 * help texts, units), less prom-client's own {@link PROM_CLIENT_LINT}.
 */
export function promtoolCheck(exposition: string): { parsed: boolean; problems: string[] } {
  const result = spawnSync('promtool', ['check', 'metrics'], { input: exposition, encoding: 'utf8' });
  if (result.error) throw new Error(`promtool could not run (${result.error.message}); install Debian's prometheus package, as .ci/run does`);
  const lines = `${result.stdout}${result.stderr}`.split('\n').filter((line) => line.trim() !== '');
  // 0: clean; 3: lint problems only; anything else: the exposition did not parse.
  if (result.status !== 0 && result.status !== 3) return { parsed: false, problems: lines };
  return { parsed: true, problems: lines.filter((line) => !PROM_CLIENT_LINT.test(line)) };
}
