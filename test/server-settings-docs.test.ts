import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { buildProgram } from '../server/dist/cli/program.js';

/*
 * docs/server.md's settings table against the CLI itself: every option of `serve` has a row
 * with its flag, its environment variable and its default, and every flag in the table is an
 * option. A new option without a row fails here.
 */

interface Setting {
  flag: string;
  env: string;
  default: string;
}

/** The rows of the table under `## Settings` that name a flag. */
async function documentedFlags(): Promise<Setting[]> {
  const markdown = await readFile(new URL('../docs/server.md', import.meta.url), 'utf8');
  const section = markdown.slice(markdown.indexOf('\n## Settings\n'));
  const table = section.split('\n').filter((line) => line.startsWith('|')).slice(2);
  const cell = (text: string) => text.replaceAll('`', '').trim();
  return table.flatMap((line) => {
    const [flag = '', env = '', byDefault = ''] = line.split('|').slice(1).map(cell);
    const name = /^--[a-z-]+/.exec(flag)?.[0];
    return name ? [{ flag: name, env, default: byDefault }] : [];
  });
}

function serveOptions(): Setting[] {
  const serve = buildProgram().commands.find((command) => command.name() === 'serve')!;
  return serve.options.map((option) => ({
    flag: option.long!,
    env: option.envVar ?? '',
    default: option.defaultValueDescription ?? (option.defaultValue === undefined ? '' : String(option.defaultValue)),
  }));
}

describe('docs/server.md settings', () => {
  it('the table has one row per option of serve, with its environment variable and default', async () => {
    const options = serveOptions();
    expect(options.map((o) => o.flag)).toEqual(expect.arrayContaining(['--http', '--db', '--cors-origins', '--body-limit']));
    const documented = await documentedFlags();
    const byFlag = (settings: Setting[]) => [...settings].sort((a, b) => a.flag.localeCompare(b.flag));
    expect(byFlag(documented)).toEqual(byFlag(options));
  });
});
