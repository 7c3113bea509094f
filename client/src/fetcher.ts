import type { ApiFetcher } from '@ts-rest/core';
import { JobsApiError } from './jobs-api-error.js';

export type FetchFunction = (input: string, init: RequestInit) => Promise<Response>;

/**
 * ts-rest's transport, on a fetch of the caller's choosing (ts-rest's own always uses the
 * global one). It adds the current token, reads any body (JSON by content type, else text) and
 * turns a request that got no answer into a JobsApiError with status 0.
 */
export function createFetcher(fetchFn: FetchFunction | undefined, currentToken: () => string | null): ApiFetcher {
  // Looked up per call, not captured: tests and polyfills may replace the global fetch later.
  const doFetch: FetchFunction = fetchFn ?? ((input, init) => globalThis.fetch(input, init));
  return async ({ path, method, headers, body, fetchOptions }) => {
    const token = currentToken();
    const withAuth = token && headers.authorization === undefined ? { ...headers, authorization: `Bearer ${token}` } : headers;
    let response: Response;
    let text: string;
    try {
      response = await doFetch(path, { ...fetchOptions, method, headers: withAuth, body: body ?? null });
      text = await response.text();
    } catch (err) {
      // The caller's own abort is not a network failure; let it through as is.
      if (err instanceof Error && err.name === 'AbortError') throw err;
      throw JobsApiError.network(`${method} ${path}`, err);
    }
    return { status: response.status, body: parseBody(text, response.headers.get('content-type')), headers: response.headers };
  };
}

function parseBody(text: string, contentType: string | null): unknown {
  if (!text) return undefined;
  if (!contentType || !/[/+]json\b/i.test(contentType)) return text;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}
