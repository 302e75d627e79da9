/**
 * The kinds of breaking change a compatibility check reports, as data. Each names what a reader
 * (the side that parses) may now refuse in what a writer (the side whose data it reads) may send.
 */
export const CompatibilityChange = {
  /** A (type, version) in the snapshot is gone: its stored events could no longer be read. */
  versionRemoved: 'version-removed',
  /** A whole event type in the snapshot is gone. */
  typeRemoved: 'type-removed',
  /** An event type's kind changed, which changes how the hub stores and delivers it. */
  kindChanged: 'kind-changed',
  /** The reader requires a field the writer does not declare. */
  requiredFieldAdded: 'required-field-added',
  /** The reader requires a field the writer declares as optional. */
  fieldMadeRequired: 'field-made-required',
  /** The reader refuses a field the writer may write (it rejects undeclared properties). */
  fieldNotAllowed: 'field-not-allowed',
  /** The reader expects another JSON type than the writer may write (string → number, number → integer…). */
  typeChanged: 'type-changed',
  /** The reader refuses a value the writer may write (an enum narrowed, a literal changed). */
  valueNotAccepted: 'value-not-accepted',
  /** The reader refuses `null`, which the writer may write. */
  nullNotAccepted: 'null-not-accepted',
  /** A bound, length, pattern, format or other constraint is stricter in the reader. */
  constraintTightened: 'constraint-tightened',
  /** The reader accepts fewer tuple items than the writer may write. */
  tupleLengthChanged: 'tuple-length-changed',
  /** The writer allows any value here and the reader does not. */
  schemaNarrowed: 'schema-narrowed',
} as const;

/** One of the values of {@link CompatibilityChange}. */
export type CompatibilityChange = (typeof CompatibilityChange)[keyof typeof CompatibilityChange];
