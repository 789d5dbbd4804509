/** Unpacking a member would pass the bytes the scan may inflate; the scan refuses the file rather than read on. */
export class InflateBudgetError extends Error {
  override name = 'InflateBudgetError';
}

/**
 * The bytes one scan may inflate across every compressed member of every
 * file of a version, together. Each decompressor charges what it produces as
 * it produces it, so a bomb is stopped at the first chunk past the budget,
 * however its members share or nest their streams.
 */
export class InflateBudget {
  private spent = 0;

  constructor(readonly limit: number) {}

  get used(): number {
    return this.spent;
  }

  /** Charges `bytes` just inflated; throws {@link InflateBudgetError} once the total passes the limit. */
  charge(bytes: number, what: string): void {
    this.spent += bytes;
    if (this.spent > this.limit) {
      throw new InflateBudgetError(`unpacking ${what} takes the scan past the ${this.limit} bytes it may inflate for one version (maxInflateMiB)`);
    }
  }
}
