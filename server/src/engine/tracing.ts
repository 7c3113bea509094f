import { context, isSpanContextValid, SpanKind, SpanStatusCode, trace, TraceFlags, type Link, type SpanContext } from '@opentelemetry/api';
import type { JobRecord } from '../store/types.js';

/**
 * Trace context with `@opentelemetry/api` only: the user brings the SDK (and its exporter); with
 * none registered every call here is the API's no-op. Stored as W3C `traceparent` text (with
 * `tracestate` after a space when there is one), so it reads the same from any process.
 */
const tracer = () => trace.getTracer('jobbase');

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/** The active span's context at enqueue, as stored with the job; null when no span is recording one. */
export function currentTraceContext(): string | null {
  const span = trace.getSpan(context.active());
  const sc = span?.spanContext();
  if (!sc || !isSpanContextValid(sc)) return null;
  const parent = `00-${sc.traceId}-${sc.spanId}-${(sc.traceFlags & 0xff).toString(16).padStart(2, '0')}`;
  const state = sc.traceState?.serialize();
  return state ? `${parent} ${state}` : parent;
}

/** The stored text back to a span context (remote); null for text that is not one. */
export function parseTraceContext(text: string | null | undefined): SpanContext | null {
  if (!text) return null;
  const [parent] = text.split(' ', 1);
  const m = TRACEPARENT.exec(parent ?? '');
  if (!m) return null;
  const sc: SpanContext = { traceId: m[1]!, spanId: m[2]!, traceFlags: parseInt(m[3]!, 16) & TraceFlags.SAMPLED, isRemote: true };
  return isSpanContextValid(sc) ? sc : null;
}

/**
 * Runs a handler inside a span `<topic> process` (a consumer span, as OpenTelemetry's messaging
 * conventions name it) linked to the enqueuer's span: a link rather than a parent, since the
 * job may run long after, and more than once. A throw is recorded on the span and rethrown.
 */
export function runInJobSpan<R>(job: JobRecord, run: () => Promise<R> | R): Promise<R> {
  const enqueuedIn = parseTraceContext(job.traceContext);
  const links: Link[] = enqueuedIn ? [{ context: enqueuedIn }] : [];
  return tracer().startActiveSpan(
    `${job.topic} process`,
    {
      kind: SpanKind.CONSUMER,
      links,
      attributes: {
        'messaging.system': 'jobbase',
        'messaging.operation.type': 'process',
        'messaging.destination.name': job.topic,
        'messaging.message.id': job.id,
        'jobbase.job.retries': job.retries,
      },
    },
    async (span) => {
      try {
        return await run();
      } catch (err) {
        span.recordException(err instanceof Error ? err : String(err));
        span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.message : String(err) });
        throw err;
      } finally {
        span.end();
      }
    },
  );
}
