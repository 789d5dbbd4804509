/**
 * The standard normal's upper tail and quantile, for the tests' p-values and
 * confidence bounds. A dozen lines rather than a dependency: simple-statistics'
 * `cumulativeStdNormalProbability` reads a table at two decimals, which puts
 * p-values in the tails off by orders of magnitude, and its `errorFunction`
 * has an absolute error (1e-7) that swamps tail probabilities too.
 */

/**
 * erfc(x) by the Chebyshev fit of Numerical Recipes (Press et al., 2nd ed.,
 * §6.2, `erfcc`): fractional error below 1.2e-7 everywhere, tails included.
 */
function complementaryErrorFunction(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const tail =
    t *
    Math.exp(
      -z * z -
        1.26551223 +
        t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    );
  return x >= 0 ? tail : 2 - tail;
}

/** P(Z > z) for a standard normal Z. */
export function normalUpperTail(z: number): number {
  return 0.5 * complementaryErrorFunction(z / Math.SQRT2);
}

/** The z with P(Z > z) = p, for 0 < p < 1: bisection on the tail, to 1e-10 in z. */
export function normalUpperQuantile(p: number): number {
  if (!(p > 0 && p < 1)) throw new RangeError(`a tail probability must lie in (0, 1), not ${p}`);
  let low = -40;
  let high = 40;
  while (high - low > 1e-10) {
    const middle = (low + high) / 2;
    if (normalUpperTail(middle) > p) low = middle;
    else high = middle;
  }
  return (low + high) / 2;
}
