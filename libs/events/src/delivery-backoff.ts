/** No retry waits longer than this, however many attempts came before. */
export const MAX_RETRY_DELAY_MS = 6 * 3_600_000;

/**
 * How long to wait after failed attempt number `attempt` (1 for the first):
 * `baseMs` doubled per attempt, capped, with "equal jitter" (half of it
 * fixed, half drawn from `random()` in [0, 1)), so that deliveries that
 * failed together (a receiver that was down) do not all come back together.
 */
export function retryDelayMs(attempt: number, baseMs: number, random: () => number = Math.random): number {
  const exponential = Math.min(MAX_RETRY_DELAY_MS, baseMs * 2 ** (attempt - 1));
  return Math.round(exponential / 2 + (exponential / 2) * random());
}
