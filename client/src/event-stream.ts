import type { JobEvent } from '@jobbase/contract';
import type { FetchFunction } from './fetcher.js';
import { JobsApiError } from './jobs-api-error.js';

export interface FollowEventsOptions {
  /** Only events of jobs of this topic. */
  topic?: string;
  /** Resume after this event (the `id` of the last one seen). */
  lastEventId?: string;
  /** Aborting it ends the stream. */
  signal?: AbortSignal;
  /** The server answered: from now on no change is missed. */
  onOpen?: () => void;
}

/**
 * Reads `GET /api/jobs/events` over fetch (EventSource cannot send the token), handing each
 * chunk's events over together so a screen can redraw once per chunk. Resolves when the server
 * ends the stream or `signal` aborts it; rejects with a JobsApiError when the server refuses it.
 */
export async function followEvents(
  fetchFn: FetchFunction,
  url: string,
  token: string | null,
  onEvents: (events: JobEvent[]) => void,
  options: FollowEventsOptions = {},
): Promise<void> {
  const headers: Record<string, string> = { accept: 'text/event-stream' };
  if (token) headers.authorization = `Bearer ${token}`;
  if (options.lastEventId) headers['last-event-id'] = options.lastEventId;
  const query = options.topic ? `?topic=${encodeURIComponent(options.topic)}` : '';
  let response: Response;
  try {
    response = await fetchFn(`${url}${query}`, { method: 'GET', headers, signal: options.signal });
  } catch (err) {
    if (err instanceof Error && err.name === 'AbortError') return;
    throw JobsApiError.network(`GET ${url}`, err);
  }
  if (response.status !== 200 || !response.body) {
    const text = await response.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // not JSON: kept as text
    }
    throw JobsApiError.fromResponse(response.status, body, `GET ${url}`);
  }
  options.onOpen?.();
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffered = '';
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      buffered += decoder.decode(value, { stream: true });
      const blocks = buffered.split('\n\n');
      buffered = blocks.pop()!;
      const events = blocks.flatMap((block) => {
        const data = block
          .split('\n')
          .filter((line) => line.startsWith('data:'))
          .map((line) => line.slice(5).replace(/^ /, ''));
        return data.length ? [JSON.parse(data.join('\n')) as JobEvent] : [];
      });
      if (events.length) onEvents(events);
    }
  } catch (err) {
    if (err instanceof Error && err.name === 'AbortError') return;
    throw JobsApiError.network(`GET ${url}`, err);
  } finally {
    reader.releaseLock();
  }
}
