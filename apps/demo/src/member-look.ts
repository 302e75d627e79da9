const NAMES = [
  'Ada',
  'Grace',
  'Alan',
  'Radia',
  'Edsger',
  'Barbara',
  'Ken',
  'Frances',
  'Linus',
  'Margaret',
  'Donald',
  'Hedy',
  'Dennis',
  'Katherine',
  'Tim',
  'Annie',
  'John',
  'Shafi',
  'Leslie',
  'Sophie',
];
const COLORS = ['#4f46e5', '#0891b2', '#16a34a', '#ca8a04', '#dc2626', '#9333ea', '#db2777', '#0d9488'];

/**
 * A name and color for a device joining the board: the first name, from a spot that the client id
 * picks (FNV-1a), that no member this device knows of has; if all are taken, the name gets the
 * client id's last characters. Devices that join offline at once may still clash: the names are
 * for people to read, the member ids stay distinct.
 */
export function newMemberLook(
  clientId: string,
  members: readonly { readonly name: string }[],
): { name: string; color: string } {
  let hash = 0x811c9dc5;
  for (let i = 0; i < clientId.length; i++) hash = Math.imul(hash ^ clientId.charCodeAt(i), 0x01000193) >>> 0;
  const taken = new Set(members.map((m) => m.name));
  const color = COLORS[hash % COLORS.length]!;
  for (let k = 0; k < NAMES.length; k++) {
    const name = NAMES[(hash + k) % NAMES.length]!;
    if (!taken.has(name)) return { name, color };
  }
  return { name: `${NAMES[hash % NAMES.length]!} ${clientId.slice(-3)}`, color };
}
