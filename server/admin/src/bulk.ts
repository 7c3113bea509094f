import type { BulkActionBody, JobsClient } from '@jobbase/client';
import { h, mount } from './dom.js';
import { confirmDialog } from './views.js';

/** Jobs per call: each call is quick, and the screen shows progress between them. */
const STEP = 500;

const count = (n: number) => n.toLocaleString('en-US');

/**
 * "Requeue all 1,204 failed jobs of send_email": the count from a dry run with the screen's
 * topic filter, a confirmation, then calls of STEP jobs each with progress, then the result.
 */
export async function requeueAllFailed(client: JobsClient, topic: string, box: HTMLElement, done: () => void): Promise<void> {
  const filter: BulkActionBody = { status: 'failed', ...(topic ? { topic } : {}) };
  const say = (text: string, cls = 'muted') => mount(box, h('p', { class: `bulk-status ${cls}`, role: 'status' }, text));
  try {
    const { matched = 0 } = await client.requeueMatching({ ...filter, dry_run: true });
    const what = `${count(matched)} failed job${matched === 1 ? '' : 's'}${topic ? ` of ${topic}` : ''}`;
    if (matched === 0) {
      say(`No failed jobs${topic ? ` of ${topic}` : ''} to requeue.`);
      return;
    }
    if (!(await confirmDialog(`Requeue all ${what}? They run again from the start.`, 'Requeue all'))) return;
    let changed = 0;
    say(`Requeuing ${what}… 0 of ${count(matched)}`);
    for (;;) {
      const step = await client.requeueMatching({ ...filter, limit: STEP });
      changed += step.changed;
      say(`Requeuing ${what}… ${count(changed)} of ${count(matched)}`);
      // Jobs another worker fails again meanwhile match again: stop at the count confirmed.
      if (step.changed < STEP || changed >= matched) break;
    }
    say(`Requeued ${count(changed)} job${changed === 1 ? '' : 's'}.`, 'ok');
  } catch (err) {
    say(`Requeue stopped: ${err instanceof Error ? err.message : String(err)}`, 'error');
  } finally {
    done();
  }
}

/** The button, labelled for the screen's topic filter. */
export function requeueAllButton(topic: string, onClick: () => void): HTMLElement {
  return h('button', { type: 'button', class: 'requeue-all', onclick: onClick }, topic ? `Requeue failed of ${topic}…` : 'Requeue all failed…');
}
