import { describe, expect, it } from 'vitest';
import { dialects } from '../helpers/databases.js';
import { useStore } from './fixture.js';

describe.each(dialects())('store: settings on %s', (dialect) => {
  const fx = useStore(dialect);

  it('settingGet of an absent key is null', async () => {
    expect(await fx.store.settingGet('token_secret')).toBeNull();
  });

  it('settingInsertIfAbsent stores the value and returns it', async () => {
    const value = `ünïcødé ✓ ${'x'.repeat(2_000)}`;
    expect(await fx.store.settingInsertIfAbsent('token_secret', value)).toBe(value);
    expect(await fx.store.settingGet('token_secret')).toBe(value);
    expect(await fx.store.settingGet('other')).toBeNull();
  });

  it('a second settingInsertIfAbsent keeps and returns the first value', async () => {
    await fx.store.settingInsertIfAbsent('token_secret', 'first');
    expect(await fx.store.settingInsertIfAbsent('token_secret', 'second')).toBe('first');
    expect(await fx.store.settingGet('token_secret')).toBe('first');
    expect(await fx.store.settingInsertIfAbsent('another', 'second')).toBe('second');
  });

  it('two stores inserting one key at once agree on a single value', async () => {
    const other = await fx.openAnother();
    for (let i = 0; i < 10; i++) {
      const key = `race_${i}`;
      const [mine, theirs] = await Promise.all([
        fx.store.settingInsertIfAbsent(key, `mine ${i}`),
        other.settingInsertIfAbsent(key, `theirs ${i}`),
      ]);
      expect(mine).toBe(theirs);
      expect([`mine ${i}`, `theirs ${i}`]).toContain(mine);
      expect(await other.settingGet(key)).toBe(mine);
    }
  });
});
