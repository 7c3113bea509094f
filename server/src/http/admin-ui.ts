import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import express, { type Express } from 'express';

/** Where the admin UI is served. */
export const ADMIN_UI_PATH = '/_/';

/** Built by server/scripts/build-admin.mjs next to this file's compiled folder: dist/admin. */
const ADMIN_DIR = fileURLToPath(new URL('../admin/', import.meta.url));
const ICON = `${ADMIN_DIR}favicon.svg`;

/**
 * The admin UI's static files at `/_/`. They hold no data: the page signs in and reads
 * everything through the public API with @jobbase/client, like any other user.
 */
export function mountAdminUi(app: Express): void {
  if (!existsSync(ADMIN_DIR)) {
    app.get(['/_', '/_/*'], (_req, res) => {
      res.status(503).type('text/plain').send('The admin UI is not built: run `npm run build`.');
    });
    return;
  }
  // Browsers ask for /favicon.ico on their own, at the root and beside the page, whatever the
  // page links: both answer the page's SVG icon, typed as SVG (by its file name) for what it is.
  app.get(['/favicon.ico', '/_/favicon.ico'], (_req, res, next) => {
    res.sendFile(ICON, { maxAge: '1d' }, (err) => {
      if (err) next(err);
    });
  });
  // `/_` → `/_/`, so the page's relative asset URLs resolve (Express routes ignore the slash).
  app.use('/_', (req, res, next) => {
    if (!req.originalUrl.startsWith('/_/')) res.redirect(301, `/_/${req.originalUrl.slice(2)}`);
    else next();
  });
  app.use('/_', express.static(ADMIN_DIR, { index: 'index.html', redirect: false, maxAge: '1h' }));
}
