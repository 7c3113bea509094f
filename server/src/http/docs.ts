import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { Express, RequestHandler } from 'express';
import { API_REFERENCE_PATH, OPENAPI_DOCUMENT_PATH, serializeOpenApiDocument } from '@jobbase/openapi';

/*
 * The OpenAPI document and the API reference rendered from it, both without auth (SPEC §4).
 *
 * Neither route is in the ts-rest contract, on purpose. The contract describes the API; these
 * two routes publish that description. Putting the document's route into the document would
 * describe it as "any JSON" (the OpenAPI schema is not ours to restate), and the reference is
 * an HTML page with its assets, which ts-rest's JSON routes do not model. Their paths come
 * from `@jobbase/openapi` with the document (OPENAPI_DOCUMENT_PATH, API_REFERENCE_PATH), so
 * nothing about them is written twice.
 */

/** swagger-ui-dist, installed with the server: the reference loads nothing from any CDN. */
const SWAGGER_UI_DIR = dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));

const ASSETS_PATH = `${API_REFERENCE_PATH}/assets`;

/** The files of swagger-ui-dist the page uses; nothing else of the package is served. */
const SWAGGER_UI_FILES = ['swagger-ui.css', 'swagger-ui-bundle.js', 'favicon-32x32.png'] as const;

/** Like the admin UI's assets: the bundle is 1.7 MB, not worth fetching on every visit. */
const ASSET_CACHE_CONTROL = 'public, max-age=3600';

/**
 * Starts Swagger UI from a file, not an inline script, so the page runs under helmet's default
 * CSP (`script-src 'self'`) unchanged. `validatorUrl: null`: by default Swagger UI sends the
 * document's URL to validator.swagger.io for a badge; the reference must not call out.
 */
const STARTER_SCRIPT = `window.ui = SwaggerUIBundle({
  url: ${JSON.stringify(OPENAPI_DOCUMENT_PATH)},
  dom_id: '#api-reference',
  deepLinking: true,
  validatorUrl: null,
  defaultModelsExpandDepth: 0,
});
`;

const PAGE = `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>Jobbase API reference</title>
  <link rel="icon" type="image/png" href="${ASSETS_PATH}/favicon-32x32.png">
  <link rel="stylesheet" href="${ASSETS_PATH}/swagger-ui.css">
</head>
<body>
  <div id="api-reference"></div>
  <script src="${ASSETS_PATH}/swagger-ui-bundle.js"></script>
  <script src="${ASSETS_PATH}/start.js"></script>
</body>
</html>
`;

/**
 * `GET /api/docs/openapi.json`: the document generated from the contract, with `servers: /` so
 * readers and "Try it out" call this very server, whatever its address.
 * `GET /api/docs`: the rendered reference, with its assets under `/api/docs/assets/`.
 */
export function mountApiDocs(app: Express): void {
  let document: string | undefined;
  app.get(OPENAPI_DOCUMENT_PATH, (_req, res) => {
    // Built on first request: pure, and the same for the process's whole life.
    document ??= serializeOpenApiDocument({ servers: [{ url: '/' }] });
    res.type('application/json').send(document);
  });
  app.get(API_REFERENCE_PATH, (_req, res) => {
    res.type('html').send(PAGE);
  });
  app.get(`${ASSETS_PATH}/start.js`, cached, (_req, res) => {
    res.type('application/javascript').send(STARTER_SCRIPT);
  });
  for (const file of SWAGGER_UI_FILES) {
    app.get(`${ASSETS_PATH}/${file}`, cached, (_req, res, next) => {
      res.sendFile(join(SWAGGER_UI_DIR, file), (err) => err && next(err));
    });
  }
}

/** Replaces the `no-store` every `/api` answer gets: these files change only with the server. */
const cached: RequestHandler = (_req, res, next) => {
  res.setHeader('Cache-Control', ASSET_CACHE_CONTROL);
  next();
};
