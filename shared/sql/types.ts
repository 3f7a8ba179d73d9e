/** Postgres type OIDs whose wire text we parse the same way in every adapter. */
export const PG_OID = {
  INT8: 20,
  DATE: 1082,
} as const;

/** int8 as a number when exact, else the decimal string: counts and ids stay plain numbers. */
export function parseInt8(text: string): number | string {
  const n = Number(text);
  return Number.isSafeInteger(n) ? n : text;
}

/** `date` stays the calendar date it is ('2026-01-31'), never a Date at some timezone's midnight. */
export function parseDate(text: string): string {
  return text;
}
