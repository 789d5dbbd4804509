import { createReadStream } from 'node:fs';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { Option, type Command } from 'commander';
import type { AnalysisRun, LabelReceipt, TelemetryReceipt, TelemetrySummary } from './api-types';
import { ExitError, type CommandContext } from './command-context';
import { ApiError, apiPath, withQuery, type GatehouseClient } from './gatehouse-client';
import { formatFields } from './output';
import { parseVersionRef, parseWholeNumber, UsageError } from './references';

/** The registry's defaults for TELEMETRY_MAX_BATCH and MAX_JSON_BODY_SIZE; it does not publish the values it runs with. */
const DEFAULT_BATCH_SIZE = '10000';
const DEFAULT_BATCH_BYTES = String(1024 * 1024);

const SINCE_UNITS_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3600_000, d: 86_400_000 };

/** What a report sends: observations to …/telemetry, or labels that arrived later to …/telemetry/labels. */
interface ReportKind {
  /** The body's one field, holding the array: `{"observations": [...]}`. */
  field: 'observations' | 'labels';
  route: string;
  /** One line's shape, for the error about a line that is not one. */
  shape: string;
}

const OBSERVATIONS: ReportKind = { field: 'observations', route: 'telemetry', shape: '{"version": …, "latencyMs": …, …}' };
const LABELS: ReportKind = { field: 'labels', route: 'telemetry/labels', shape: '{"requestId": …, "label": …}' };

/** One item of the input: the line it is on (1-based) and its size as sent. */
interface InputItem {
  line: number;
  value: Record<string, unknown>;
  bytes: number;
}

interface BatchLimits {
  /** Items in one request: the registry's TELEMETRY_MAX_BATCH. */
  maxItems: number;
  /** Bytes of one request body: the registry's MAX_JSON_BODY_SIZE. */
  maxBytes: number;
}

interface ReportOptions {
  labels?: boolean;
  batchSize: string;
  batchBytes: string;
  whileAnalysing?: boolean;
  every: string;
}

/** telemetry report and show: what serving did, in and out. */
export function addTelemetryCommands(program: Command, { client, print, cwd }: CommandContext): void {
  const telemetry = program.command('telemetry').description('report what serving did (observations, late labels) and read it back per version');
  telemetry
    .command('report')
    .description(
      'send observations from a JSON Lines file (- for stdin), one per line as POST /v1/models/{name}/telemetry takes them, in batches within the registry’s limits; ' +
        'every line is checked to be JSON before anything is sent',
    )
    .argument('<model>')
    .argument('<file>', 'a JSON Lines file, or - to read standard input')
    .option('--labels', 'the lines are labels that arrived later, {"requestId": …, "label": …}, for predictions reported with those request ids')
    .option('--batch-size <n>', 'items per request: at most the registry’s TELEMETRY_MAX_BATCH', DEFAULT_BATCH_SIZE)
    .option('--batch-bytes <n>', 'bytes per request body: at most the registry’s MAX_JSON_BODY_SIZE', DEFAULT_BATCH_BYTES)
    .addOption(
      new Option(
        '--while-analysing',
        'replay the file: send it again every --every seconds for as long as the analysis running now goes on, each round stamped as it arrives (its lines carry no time); exit 1 unless it passed',
      ).conflicts('labels'),
    )
    .option('--every <seconds>', 'with --while-analysing, seconds between rounds', '2')
    .action(async (model: string, file: string, options: ReportOptions) => {
      const kind = options.labels ? LABELS : OBSERVATIONS;
      const limits = { maxItems: positive(options.batchSize, '--batch-size'), maxBytes: positive(options.batchBytes, '--batch-bytes') };
      const everyMs = positive(options.every, '--every') * 1000;
      const source = file === '-' ? 'standard input' : file;
      const items = await readJsonLines(file === '-' ? process.stdin : createReadStream(resolve(cwd, file)), source, kind);
      const batches = splitIntoBatches(items, limits, kind.field, source);
      const resend = (line: number) => `tail -n +${line} ${file === '-' ? 'FILE' : file} | gatehouse telemetry report ${model}${options.labels ? ' --labels' : ''} -`;
      const api = await client();
      const send = () => sendBatches(api, `/v1/models/${apiPath(model)}/${kind.route}`, batches, { kind, limits, resend });
      if (options.whileAnalysing) {
        const replayed = await replayWhileAnalysing(api, model, items, source, everyMs, send);
        print(replayed, () => `${model}: ${replayed.accepted} observations accepted in ${replayed.rounds} ${plural(replayed.rounds, 'round', 'rounds')}; ${replayed.analysis}\n`);
        if (!replayed.passed) throw new ExitError(1, `${replayed.analysis}, not passed`);
        return;
      }
      const sent = await send();
      if (options.labels) {
        const result = { matched: sent.matched, unmatched: sent.unmatched, batches: sent.batches };
        print(
          result,
          () =>
            `${model}: ${result.matched} labels matched a prediction, ${result.unmatched} did not (unknown request id, expired or labelled already), in ${result.batches} ${plural(result.batches, 'batch', 'batches')}\n`,
        );
      } else {
        const result = { accepted: sent.accepted, awaitingLabels: sent.awaitingLabels, batches: sent.batches };
        print(
          result,
          () =>
            `${model}: ${result.accepted} observations accepted in ${result.batches} ${plural(result.batches, 'batch', 'batches')}` +
            `${result.awaitingLabels > 0 ? `; ${result.awaitingLabels} predictions wait for their labels (gatehouse telemetry report ${model} --labels FILE)` : ''}\n`,
        );
      }
    });

  telemetry
    .command('show')
    .description('what a version did over a time range (default: the last hour): counts, error rate, latency quantiles, accuracy, drift against its training data')
    .argument('<model@version>')
    .addOption(new Option('--since <duration>', 'the range ending now, as 90s, 30m, 1h or 7d').conflicts(['from', 'to']))
    .option('--from <iso-time>', 'start of the range (default: an hour before --to)')
    .option('--to <iso-time>', 'end of the range, exclusive (default: now)')
    .action(async (reference: string, options: { since?: string; from?: string; to?: string }) => {
      const { model, version } = parseVersionRef(reference);
      const from = options.since === undefined ? options.from : new Date(Date.now() - parseSince(options.since)).toISOString();
      const summary = await (await client()).get<TelemetrySummary>(withQuery(`/v1/models/${apiPath(model, 'versions', version)}/telemetry`, { from, to: options.to }));
      print(summary, () => describeSummary(summary));
    });
}

/**
 * Sends the observations again and again, `everyMs` apart, while the model's
 * analysis that is running now goes on: recorded traffic standing in for a
 * serving fleet, in a demo or a test. The registry stamps observations
 * without a time as they arrive, so every round lands in the interval being
 * judged; a line with a time would land in the same past window every round.
 * Ends with that analysis, exiting 1 unless it passed, as `analysis show
 * --watch` does.
 */
async function replayWhileAnalysing(
  api: GatehouseClient,
  model: string,
  items: InputItem[],
  source: string,
  everyMs: number,
  send: () => Promise<SentBatches>,
): Promise<{ rounds: number; accepted: number; analysis: string; passed: boolean }> {
  const timed = items.find((item) => item.value.time !== undefined);
  if (timed) throw new ExitError(1, `${source} line ${timed.line} has a time: a replay is stamped as each round arrives, so its lines leave "time" out; nothing was sent`);
  const newest = (await api.get<{ items: AnalysisRun[] }>(withQuery(`/v1/models/${apiPath(model)}/analysis-runs`, { limit: '1' }))).items.at(0);
  if (newest?.status !== 'running') {
    const remedy = newest?.status === 'paused' ? `resume it first (gatehouse analysis resume ${newest.id})` : 'promote a version to canary first';
    throw new ExitError(
      1,
      `${model} has no canary analysis running (${newest ? `its newest, ${newest.id}, is ${newest.status}` : 'it has had none'}): ${remedy}; nothing was sent`,
    );
  }
  let run = newest;
  let rounds = 0;
  let accepted = 0;
  while (run.status === 'running') {
    accepted += (await send()).accepted;
    rounds++;
    await sleep(everyMs);
    run = await api.get<AnalysisRun>(`/v1/analysis-runs/${apiPath(run.id)}`);
  }
  return { rounds, accepted, analysis: `analysis ${run.id} of ${model}@${run.version}: ${run.status}`, passed: run.status === 'passed' };
}

/** What the registry answered to every batch, summed. */
interface SentBatches {
  batches: number;
  accepted: number;
  awaitingLabels: number;
  matched: number;
  unmatched: number;
}

/** Sends the batches in turn; the first the registry refuses ends the command, saying what the earlier ones left kept. */
async function sendBatches(
  api: GatehouseClient,
  path: string,
  batches: InputItem[][],
  { kind, limits, resend }: Pick<RefusedBatch, 'kind' | 'limits'> & { resend: (line: number) => string },
): Promise<SentBatches> {
  const sent: SentBatches = { batches: 0, accepted: 0, awaitingLabels: 0, matched: 0, unmatched: 0 };
  for (const batch of batches) {
    let receipt: Partial<TelemetryReceipt & LabelReceipt>;
    try {
      receipt = await api.post<Partial<TelemetryReceipt & LabelReceipt>>(path, { [kind.field]: batch.map((item) => item.value) });
    } catch (error) {
      throw refusedBatch(error, { batch, kind, limits, acceptedBefore: sent.accepted, resend: resend(batch[0].line) });
    }
    sent.batches++;
    sent.accepted += batch.length;
    sent.awaitingLabels += receipt.awaitingLabels ?? 0;
    sent.matched += receipt.matched ?? 0;
    sent.unmatched += receipt.unmatched ?? 0;
  }
  return sent;
}

/**
 * Every item of a JSON Lines input, each an object, with its line number;
 * blank lines are skipped. The first line that is not a JSON object ends the
 * command before anything is sent.
 */
async function readJsonLines(input: Readable, source: string, kind: ReportKind): Promise<InputItem[]> {
  const items: InputItem[] = [];
  let line = 0;
  try {
    for await (const text of createInterface({ input, crlfDelay: Infinity })) {
      line++;
      if (text.trim() === '') continue;
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch (error) {
        throw new ExitError(1, `${source} line ${line} is not JSON (${(error as Error).message}); nothing was sent`);
      }
      if (typeof value !== 'object' || value === null || Array.isArray(value)) {
        throw new ExitError(1, `${source} line ${line} is not a JSON object such as ${kind.shape}; nothing was sent`);
      }
      items.push({ line, value: value as Record<string, unknown>, bytes: Buffer.byteLength(JSON.stringify(value)) });
    }
  } catch (error) {
    if (error instanceof ExitError) throw error;
    throw new ExitError(1, `cannot read ${source}: ${(error as Error).message}`);
  }
  if (items.length === 0) throw new ExitError(1, `${source} holds no ${kind.field}: nothing to send`);
  return items;
}

/**
 * The items in order, cut into batches of at most `maxItems` whose bodies,
 * `{"<field>": [item,item,…]}` as JSON.stringify writes them, are at most
 * `maxBytes`. An item too large for a body of its own is an error naming its line.
 */
function splitIntoBatches(items: InputItem[], limits: BatchLimits, field: string, source: string): InputItem[][] {
  const envelope = Buffer.byteLength(JSON.stringify({ [field]: [] }));
  const batches: InputItem[][] = [];
  let batch: InputItem[] = [];
  let bytes = envelope;
  for (const item of items) {
    if (envelope + item.bytes > limits.maxBytes) {
      throw new ExitError(
        1,
        `${source} line ${item.line} is ${item.bytes} bytes, too large for a request body of at most ${limits.maxBytes} bytes on its own (--batch-bytes, the registry's MAX_JSON_BODY_SIZE); nothing was sent`,
      );
    }
    // Each item after a batch's first adds a comma.
    if (batch.length > 0 && (batch.length === limits.maxItems || bytes + 1 + item.bytes > limits.maxBytes)) {
      batches.push(batch);
      batch = [];
      bytes = envelope;
    }
    bytes += (batch.length > 0 ? 1 : 0) + item.bytes;
    batch.push(item);
  }
  if (batch.length > 0) batches.push(batch);
  return batches;
}

interface RefusedBatch {
  batch: InputItem[];
  kind: ReportKind;
  limits: BatchLimits;
  /** Items the registry took in earlier batches: they are kept. */
  acceptedBefore: number;
  /** The command that sends the rest again, from the refused batch's first line. */
  resend: string;
}

/**
 * A refused batch's error in the words of the input: the item it names by
 * its line rather than its index in the batch, what the registry kept, and
 * how to send the rest. The registry keeps all of a batch or none of it.
 */
function refusedBatch(error: unknown, { batch, kind, limits, acceptedBefore, resend }: RefusedBatch): unknown {
  if (!(error instanceof ApiError)) return error;
  const kept =
    acceptedBefore === 0
      ? 'nothing was kept'
      : `the ${acceptedBefore} ${kind.field} before line ${batch[0].line} were kept, nothing from that line on; once it is fixed, send the rest with ${resend}`;
  const refused = (message: string, details: unknown = error.details) => new ApiError(error.status, error.code, `${message}; ${kept}`, details);
  // The registry speaks of its batch; the command's batches are its own business.
  const message = error.message.replace(/; nothing from this batch was kept$/, '');
  const field = (error.details as { field?: string } | undefined)?.field;
  const item = field === undefined ? undefined : new RegExp(`^${kind.field}\\[(\\d+)\\]\\.?(.*)$`).exec(field);
  if (field !== undefined && item && message.startsWith(field)) {
    const line = batch[Number(item[1])].line;
    const at = item[2] ? `line ${line}: ${item[2]}` : `line ${line}`;
    return refused(`${at}${message.slice(field.length)}`, { ...(error.details as object), field: at });
  }
  if (field === kind.field) return refused(`${message}. The registry takes fewer than --batch-size ${limits.maxItems}: give its TELEMETRY_MAX_BATCH with --batch-size`);
  const maxBytes = (error.details as { maxBytes?: number } | undefined)?.maxBytes;
  if (error.status === 413 && maxBytes !== undefined)
    return refused(`the registry takes request bodies of at most ${maxBytes} bytes (its MAX_JSON_BODY_SIZE): give --batch-bytes ${maxBytes}`);
  return acceptedBefore === 0 ? error : refused(message);
}

/** `--since 30m`: how far back the range starts, in milliseconds. */
function parseSince(text: string): number {
  const match = /^(\d+)([smhd])$/.exec(text);
  if (!match || Number(match[1]) === 0) throw new UsageError(`--since takes a duration such as 90s, 30m, 1h or 7d, not "${text}"`);
  return Number(match[1]) * SINCE_UNITS_MS[match[2]];
}

function positive(text: string, option: string): number {
  const value = parseWholeNumber(text, option);
  if (value === 0) throw new UsageError(`${option} must be at least 1`);
  return value;
}

function describeSummary(summary: TelemetrySummary): string {
  const latency = summary.latencyMs;
  const { outcomes, drift } = summary;
  const classes = Object.entries(summary.classes)
    .sort(([, a], [, b]) => b - a)
    .map(([label, count]) => `${label} (${count})`)
    .join(', ');
  return formatFields([
    ['version', `${summary.model}@${summary.version}`],
    ['range', `${summary.from} → ${summary.to} (${summary.windows} ${plural(summary.windows, 'window', 'windows')} with data)`],
    ['observations', summary.observations],
    ['errors', summary.errorRate === null ? summary.errors : `${summary.errors} (${percent(summary.errorRate)})`],
    ['latency', latency ? `p50 ${milliseconds(latency.p50)}  p95 ${milliseconds(latency.p95)}  p99 ${milliseconds(latency.p99)}` : null],
    ['classes', classes || null],
    ['accuracy', outcomes.accuracy === null ? null : `${percent(outcomes.accuracy)} of ${outcomes.labelled} labelled`],
    ...(outcomes.meanSquaredError === null ? [] : [['mean sq. error', `${outcomes.meanSquaredError.toPrecision(4)} over ${outcomes.labelled} labelled`] as [string, string]]),
    ['drift', describeDrift(drift)],
  ]);
}

function describeDrift(drift: TelemetrySummary['drift']): string {
  if (!drift) return '- (the version has no dataset to measure drift against)';
  if (drift.score === null) return `- (too few observations with features yet; against ${drift.dataset})`;
  return `PSI ${drift.score.toFixed(3)}, worst ${drift.worst}; against ${drift.dataset}`;
}

const percent = (share: number) => `${(share * 100).toFixed(2)}%`;
const milliseconds = (ms: number) => `${ms < 10 ? ms.toFixed(2) : ms.toFixed(1)} ms`;
const plural = (count: number, one: string, many: string) => (count === 1 ? one : many);
