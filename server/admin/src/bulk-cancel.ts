import type { BulkActionBody, JobsClient } from '@jobbase/client';
import { h, mount } from './dom.js';
import { confirmDialog } from './views.js';

/** Jobs per call: each call is quick, and the screen shows progress between them. */
const STEP = 500;

const count = (n: number) => n.toLocaleString('en-US');

/**
 * "Cancel all 37 pending/processing jobs of send_email", as bulk.ts requeues: the count from a
 * dry run with the screen's topic filter, a confirmation, calls of STEP jobs each with progress,
 * then the result. Pending jobs are cancelled at once; running ones are told to stop and become
 * cancelled when their handlers settle.
 */
export async function cancelAllActive(client: JobsClient, topic: string, box: HTMLElement, done: () => void): Promise<void> {
  const filter: BulkActionBody = topic ? { topic } : {};
  const say = (text: string, cls = 'muted') => mount(box, h('p', { class: `bulk-status ${cls}`, role: 'status' }, text));
  try {
    const { matched = 0 } = await client.cancelMatching({ ...filter, dry_run: true });
    const what = `${count(matched)} pending/processing job${matched === 1 ? '' : 's'}${topic ? ` of ${topic}` : ''}`;
    if (matched === 0) {
      say(`No pending or processing jobs${topic ? ` of ${topic}` : ''} to cancel.`);
      return;
    }
    const confirmed = await confirmDialog(`Cancel all ${what}? Pending ones will not run; running ones are told to stop.`, 'Cancel all');
    if (!confirmed) return;
    let changed = 0;
    say(`Cancelling ${what}… 0 of ${count(matched)}`);
    for (;;) {
      const step = await client.cancelMatching({ ...filter, limit: STEP });
      changed += step.changed;
      say(`Cancelling ${what}… ${count(changed)} of ${count(matched)}`);
      // Jobs enqueued meanwhile match too: stop at the count confirmed.
      if (step.changed < STEP || changed >= matched) break;
    }
    say(`Cancelled ${count(changed)} job${changed === 1 ? '' : 's'}.`, 'ok');
  } catch (err) {
    say(`Cancel stopped: ${err instanceof Error ? err.message : String(err)}`, 'error');
  } finally {
    done();
  }
}

/** The button, labelled for the screen's topic filter. */
export function cancelAllButton(topic: string, onClick: () => void): HTMLElement {
  return h(
    'button',
    { type: 'button', class: 'cancel-all', onclick: onClick },
    topic ? `Cancel pending/processing of ${topic}…` : 'Cancel all pending/processing…',
  );
}
