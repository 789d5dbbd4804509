/** A canary's requested share is its first step; the policy's larger steps follow it, so a 10% request under [5, 25, 50] walks 10, 25, 50. */
export function stepsFrom(steps: readonly number[], requested: number | null): number[] {
  if (requested === null) return [...steps];
  return [requested, ...steps.filter((step) => step > requested)];
}
