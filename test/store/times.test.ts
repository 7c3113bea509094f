import { toDate } from '@jobbase/server/testing';
import { describe, expect, it } from 'vitest';

/**
 * How the stores read a stored time: PostgreSQL hands timestamptz over as text
 * (`0099-12-31 00:00:00.5+00`), which `new Date()` misreads (year 0099 as 1999); SQLite stores ISO
 * text. Run on any dialect: the parser is the same code, and the PostgreSQL conformance tests
 * (years 1..9999 round-trip, in two time zones) reach it only through a PostgreSQL database.
 */
describe('toDate', () => {
  const iso = (value: unknown) => toDate(value).toISOString();

  it('reads PostgreSQL’s timestamptz text exactly: years below 100, fractions, offsets of every form', () => {
    const cases: [string, string][] = [
      ['0099-12-31 00:00:00.5+00', '0099-12-31T00:00:00.500Z'],
      ['0001-01-01 00:00:00+00', '0001-01-01T00:00:00.000Z'],
      ['2026-03-04 05:06:07.123456+00', '2026-03-04T05:06:07.123Z'],
      // Offsets: hours and minutes, with and without the colon, east and west.
      ['2026-03-04 05:06:07+05:30', '2026-03-03T23:36:07.000Z'],
      ['2026-03-04T05:06:07.25+0530', '2026-03-03T23:36:07.250Z'],
      ['2026-03-04 05:06:07-08', '2026-03-04T13:06:07.000Z'],
      ['2026-03-04 05:06:07.9-03:45', '2026-03-04T08:51:07.900Z'],
      // No offset: UTC, whatever the process's time zone.
      ['2026-03-04 05:06:07', '2026-03-04T05:06:07.000Z'],
      ['9999-12-31 23:59:59.999+00', '9999-12-31T23:59:59.999Z'],
    ];
    for (const [text, expected] of cases) expect(iso(text), text).toBe(expected);
    expect(toDate('12345-06-07 08:09:10+00').getTime(), 'a five-digit year').toBe(Date.UTC(12345, 5, 7, 8, 9, 10));
  });

  it('reads ISO text (SQLite) as it is, and passes a Date through untouched', () => {
    expect(iso('2026-03-04T05:06:07.891Z')).toBe('2026-03-04T05:06:07.891Z');
    const date = new Date('2026-03-04T05:06:07.891Z');
    expect(toDate(date)).toBe(date);
  });
});
