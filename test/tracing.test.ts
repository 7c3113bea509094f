import { context, propagation, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { PermanentError } from '@jobbase/server';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { dialects } from './helpers/databases.js';
import { EngineFixture } from './helpers/engine.js';
import { AsyncLocalStorageContext } from './helpers/otel.js';
import { waitFor } from './helpers/wait.js';

/**
 * Trace context (issue 18): the user registers an OpenTelemetry SDK (here the in-memory
 * exporter); a job enqueued inside a span runs its handler inside a span linked to that one.
 */
const exporter = new InMemorySpanExporter();
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });

beforeAll(() => {
  context.setGlobalContextManager(new AsyncLocalStorageContext());
  trace.setGlobalTracerProvider(provider);
});
afterAll(async () => {
  trace.disable();
  context.disable();
  propagation.disable();
  await provider.shutdown();
});

describe.each(dialects())('trace context on %s', (dialect) => {
  const fx = new EngineFixture(dialect);
  beforeEach(async () => {
    exporter.reset();
    await fx.setup();
  });
  afterEach(() => fx.teardown());

  it('the handler runs in a consumer span linked to the span that enqueued the job', async () => {
    const jobs = await fx.open();
    const seenInHandler: string[] = [];
    jobs.register('traced', async () => {
      seenInHandler.push(trace.getActiveSpan()!.spanContext().spanId);
    });
    const tracer = trace.getTracer('test');
    const parent = await tracer.startActiveSpan('checkout', async (span) => {
      const job = await jobs.enqueue('traced', { n: 1 });
      span.end();
      return { job, context: span.spanContext() };
    });
    expect(parent.job.traceContext).toBe(`00-${parent.context.traceId}-${parent.context.spanId}-01`);
    jobs.start();
    await waitFor('the job to complete', async () => (await jobs.get(parent.job.id)).status === 'completed');

    const process = await waitFor('the handler span', () => exporter.getFinishedSpans().find((s) => s.name === 'traced process'));
    expect(process.kind).toBe(SpanKind.CONSUMER);
    expect(process.links.map((l) => l.context)).toEqual([expect.objectContaining({ traceId: parent.context.traceId, spanId: parent.context.spanId })]);
    expect(process.attributes).toMatchObject({ 'messaging.system': 'jobbase', 'messaging.destination.name': 'traced', 'messaging.message.id': parent.job.id });
    expect(seenInHandler).toEqual([process.spanContext().spanId]);
    expect(process.status.code).not.toBe(SpanStatusCode.ERROR);
  });

  it('a job enqueued outside any span runs in an unlinked span; a throw marks the span as an error', async () => {
    const jobs = await fx.open();
    jobs.register('plain', async () => {
      throw new PermanentError('no way');
    });
    const job = await jobs.enqueue('plain', {});
    expect(job.traceContext).toBeNull();
    jobs.start();
    await waitFor('the job to fail', async () => (await jobs.get(job.id)).status === 'failed');
    const process = await waitFor('the handler span', () => exporter.getFinishedSpans().find((s) => s.name === 'plain process'));
    expect(process.links).toEqual([]);
    expect(process.status).toMatchObject({ code: SpanStatusCode.ERROR, message: 'no way' });
    expect(process.events.map((e) => e.name)).toContain('exception');
  });
});
