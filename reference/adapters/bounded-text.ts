// Client-supplied text (a Username, a ClientID) can be 64 KiB: what the broker repeats of it, in a
// CONNACK reason string or a log line, is cut to a few hundred characters and says how long it was.

/** Longest reason string a refusal CONNACK carries, in characters. */
export const MAX_REASON_LENGTH = 256;
/** Longest client-supplied name a log line shows, in characters. */
export const MAX_SHOWN_NAME = 64;

/** The text itself when short, else its start, an ellipsis and its full length. */
export function bounded(text: string, max: number): string {
  if (text.length <= max) return text;
  const suffix = `… (${text.length} chars)`;
  return `${text.slice(0, Math.max(max - suffix.length, 0))}${suffix}`;
}

/** A client-supplied name as a log line shows it. */
export function shownName(name: string): string {
  return bounded(name, MAX_SHOWN_NAME);
}
