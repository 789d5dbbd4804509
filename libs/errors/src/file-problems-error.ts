/**
 * A configuration file that cannot be used (a gate policy, a promotion
 * policy, a thresholds file), with every problem at once, so one edit fixes
 * the file. Operator errors: start-up and the CLI print the message alone.
 */
export class FileProblemsError extends Error {
  constructor(
    what: string,
    readonly source: string,
    readonly problems: string[],
  ) {
    super(`${what} ${source} is invalid:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`);
    this.name = new.target.name;
  }
}
