/** Names the viewer's time zone at a given moment, as the browser does: `GMT+9`, `CET`, `PDT`… */
const zoneNamer = new Intl.DateTimeFormat(undefined, { timeZoneName: 'short' });

/** A moment as the viewer reads it, in their own time zone. */
export interface LocalTime {
  /** `2025-01-08` */
  date: string;
  /** `12:00:00 GMT+1`: the time of day and the zone it is in (which can change with the date). */
  clock: string;
}

/**
 * `iso` in the viewer's time zone, the zone named: the viewer may not be where the server or
 * the workers are, and a time without its zone reads as theirs. Null when `iso` is no time.
 */
export function localTime(iso: string): LocalTime | null {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return null;
  const pad = (n: number) => String(n).padStart(2, '0');
  const zone = zoneNamer.formatToParts(d).find((p) => p.type === 'timeZoneName')?.value;
  const time = `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  return {
    date: `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`,
    clock: zone ? `${time} ${zone}` : time,
  };
}

export function formatRate(rate: number): string {
  return `${(rate * 100).toFixed(1)}%`;
}

export function prettyJson(value: unknown): string {
  return JSON.stringify(value, null, 2) ?? String(value);
}

/** The first 8 characters are the time part of a UUID v7: short, but they do not tell jobs apart. */
export function shortId(id: string): string {
  return `${id.slice(0, 8)}…${id.slice(-4)}`;
}
