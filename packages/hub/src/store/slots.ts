/**
 * An array of `length` undefined slots, filled by index later. Not `Array.from({ length })`: V8
 * takes its generic array-like path for that, ten times slower, and the hub makes a few of these
 * for every push.
 */
export function undefinedSlots<T>(length: number): (T | undefined)[] {
  const slots: (T | undefined)[] = [];
  for (let i = 0; i < length; i++) slots.push(undefined);
  return slots;
}
