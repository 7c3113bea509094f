/** A fenced code block of a markdown guide. */
export interface CodeBlock {
  /** The info string's first word: `ts`, `sh`, `json`, `text`… */
  lang: string;
  /** The rest of the info string: for `ts`, the file the block belongs to (```ts worker.ts). */
  file: string | undefined;
  code: string;
  /** 1-based line of the opening fence, for messages. */
  line: number;
  /** From `<!-- docs-test: WORD -->` on the line above the fence (blank lines allowed between). */
  directive: string | undefined;
}

const FENCE = /^```(\S*)\s*(.*)$/;
const DIRECTIVE = /^<!--\s*docs-test:\s*(\S+)\s*-->$/;

/** The fenced blocks of `markdown`, in order. Fences start at column 0 and are three backticks. */
export function codeBlocks(markdown: string): CodeBlock[] {
  const lines = markdown.split('\n');
  const blocks: CodeBlock[] = [];
  let directive: string | undefined;
  for (let i = 0; i < lines.length; i++) {
    const text = lines[i]!;
    const comment = DIRECTIVE.exec(text.trim());
    if (comment) {
      directive = comment[1];
      continue;
    }
    const fence = FENCE.exec(text);
    if (!fence) {
      if (text.trim() !== '') directive = undefined;
      continue;
    }
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && lines[i] !== '```'; i++) body.push(lines[i]!);
    if (i === lines.length) throw new Error(`Line ${start + 1}: the code block is never closed.`);
    blocks.push({
      lang: fence[1]!,
      file: fence[2]?.trim() || undefined,
      code: `${body.join('\n')}\n`,
      line: start + 1,
      directive,
    });
    directive = undefined;
  }
  return blocks;
}

const VOLATILE_FORMATS = [
  /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i, // ids
  /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/, // times
  /^eyJ[\w-]+\.[\w-]+\.[\w-]+$/, // tokens
  /^jbw_[\w-]{43}$/, // worker tokens
];

/**
 * Where `actual` differs from the `expected` JSON a guide shows, or null. Ids, times and tokens
 * (superusers' and workers') must only have the same format (they differ on every run); every other value must be equal.
 */
export function jsonDifference(expected: unknown, actual: unknown, path = '$'): string | null {
  if (typeof expected === 'string' && typeof actual === 'string') {
    const format = VOLATILE_FORMATS.find((f) => f.test(expected));
    if (format ? format.test(actual) : expected === actual) return null;
    return `${path}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`;
  }
  if (Array.isArray(expected) && Array.isArray(actual)) {
    if (expected.length !== actual.length) return `${path}: expected ${expected.length} items, got ${actual.length}`;
    for (let i = 0; i < expected.length; i++) {
      const difference = jsonDifference(expected[i], actual[i], `${path}[${i}]`);
      if (difference) return difference;
    }
    return null;
  }
  if (isObject(expected) && isObject(actual)) {
    const keys = Object.keys(expected).sort().join(',');
    if (keys !== Object.keys(actual).sort().join(',')) {
      return `${path}: expected the keys ${keys}, got ${Object.keys(actual).sort().join(',')}`;
    }
    for (const key of Object.keys(expected)) {
      const difference = jsonDifference(expected[key], actual[key], `${path}.${key}`);
      if (difference) return difference;
    }
    return null;
  }
  return Object.is(expected, actual) ? null : `${path}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The first line of `expected` (a guide's ```text output) not found in `actual`, or null. The
 * lines must appear in order; others may come between (logs). `…` in a line matches anything.
 */
export function missingLine(expected: string, actual: string): string | null {
  const lines = actual.split('\n').map((l) => l.trimEnd());
  let at = 0;
  for (const want of expected.split('\n').map((l) => l.trimEnd()).filter(Boolean)) {
    const pattern = new RegExp(`^${want.split('…').map(escapeRegExp).join('.*')}$`);
    while (at < lines.length && !pattern.test(lines[at]!)) at++;
    if (at === lines.length) return want;
    at++;
  }
  return null;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
