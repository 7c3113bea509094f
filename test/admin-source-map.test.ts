import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AppFixture, api } from './helpers/app.js';

/**
 * The admin UI's source map was built, shipped in the package and served at `/_/app.js.map` by
 * every server. The server has no development mode, and the UI's source is in the repository for
 * whoever wants it, so the bundle is built without one: nothing to serve, nothing to ship.
 */
const ADMIN_DIR = fileURLToPath(new URL('../server/dist/admin/', import.meta.url));

describe('the admin UI bundle', () => {
  const fx = new AppFixture('sqlite');
  beforeEach(() => fx.setup());
  afterEach(() => fx.teardown());

  it('has no source map: /_/app.js.map is a 404 and app.js does not point to one', async () => {
    const { url } = await fx.start();
    const script = await fetch(`${url}/_/app.js`);
    expect(script.status).toBe(200);
    expect(await script.text()).not.toMatch(/sourceMappingURL/);
    const map = await api(url, '/_/app.js.map');
    expect(map.status).toBe(404);
    expect(map.text).not.toContain('"mappings"');
  });

  it('is built without any .map file, so the package ships none', () => {
    expect(readdirSync(ADMIN_DIR).filter((f) => f.endsWith('.map'))).toEqual([]);
  });
});
