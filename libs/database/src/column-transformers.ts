/** bigint columns arrive as strings from `pg`; our sizes and sequence numbers stay far below 2^53. */
export const bigintAsNumber = {
  to: (value?: number | null) => value,
  from: (value: string | null) => (value === null ? null : Number(value)),
};
