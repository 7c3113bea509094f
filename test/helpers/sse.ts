/** One server-sent event as a client reads it. */
export interface SseEvent {
  id?: string;
  event?: string;
  data: any;
}

/**
 * A subscription to a server-sent event stream over fetch: the events parsed as they come
 * (`data` as JSON), and a way to wait for one.
 */
export class SseStream {
  readonly events: SseEvent[] = [];
  readonly status: number;
  readonly headers: Headers;
  private readonly controller: AbortController;
  private readonly done: Promise<void>;

  private constructor(res: Response, controller: AbortController) {
    this.status = res.status;
    this.headers = res.headers;
    this.controller = controller;
    this.done = this.read(res).catch(() => undefined);
  }

  static async open(url: string, headers: Record<string, string> = {}): Promise<SseStream> {
    const controller = new AbortController();
    const res = await fetch(url, { headers: { accept: 'text/event-stream', ...headers }, signal: controller.signal });
    return new SseStream(res, controller);
  }

  private async read(res: Response): Promise<void> {
    if (!res.body) return;
    const decoder = new TextDecoder();
    let buffered = '';
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      buffered += decoder.decode(chunk, { stream: true });
      let end: number;
      while ((end = buffered.indexOf('\n\n')) >= 0) {
        const block = buffered.slice(0, end);
        buffered = buffered.slice(end + 2);
        const event: SseEvent = { data: undefined };
        const data: string[] = [];
        for (const line of block.split('\n')) {
          if (line.startsWith(':')) continue;
          const [field, ...rest] = line.split(':');
          const value = rest.join(':').replace(/^ /, '');
          if (field === 'id') event.id = value;
          else if (field === 'event') event.event = value;
          else if (field === 'data') data.push(value);
        }
        if (data.length) {
          event.data = JSON.parse(data.join('\n'));
          this.events.push(event);
        }
      }
    }
  }

  /** Stops reading; resolves once the stream is closed. */
  async close(): Promise<void> {
    this.controller.abort();
    await this.done;
  }
}
