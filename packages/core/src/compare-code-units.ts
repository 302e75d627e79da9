/**
 * Orders two strings by their UTF-16 code units (what `<` on strings does): negative, 0 or
 * positive. `Array.prototype.sort`'s default does the same but says so only implicitly.
 */
export function compareCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
