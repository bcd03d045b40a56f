/** `value` rounded to `decimals` places (Math.round on the scaled value); never -0. */
export function round(value: number, decimals: number): number {
  const factor = 10 ** decimals;
  return Math.round(value * factor) / factor + 0;
}
