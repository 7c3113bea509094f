import type { BulkActionBody, BulkResult, JobsClient } from '@jobbase/client';
import { h, mount } from './dom.js';
import { confirmDialog } from './views.js';

/** Jobs per call: each call is quick, and the screen shows progress between them. */
const STEP = 500;

const count = (n: number) => n.toLocaleString('en-US');

/** The words and the call of one bulk action by filter. */
interface BulkAction {
  /** The filter beyond the screen's topic. */
  filter: BulkActionBody;
  run: (client: JobsClient, body: BulkActionBody) => Promise<BulkResult>;
  /** What the matched jobs are: "failed job". */
  noun: string;
  /** "No failed jobs … to requeue." */
  none: (ofTopic: string) => string;
  confirm: (what: string) => string;
  confirmLabel: string;
  /** "Requeuing", "Requeued", "Requeue". */
  doing: string;
  did: string;
  name: string;
}

const REQUEUE_FAILED: BulkAction = {
  filter: { status: 'failed' },
  run: (client, body) => client.requeueMatching(body),
  noun: 'failed job',
  none: (ofTopic) => `No failed jobs${ofTopic} to requeue.`,
  confirm: (what) => `Requeue all ${what}? They run again from the start.`,
  confirmLabel: 'Requeue all',
  doing: 'Requeuing',
  did: 'Requeued',
  name: 'Requeue',
};

/** Pending jobs are cancelled at once; running ones are told to stop and become cancelled when their handlers settle. */
const CANCEL_ACTIVE: BulkAction = {
  filter: {},
  run: (client, body) => client.cancelMatching(body),
  noun: 'pending/processing job',
  none: (ofTopic) => `No pending or processing jobs${ofTopic} to cancel.`,
  confirm: (what) => `Cancel all ${what}? Pending ones will not run; running ones are told to stop.`,
  confirmLabel: 'Cancel all',
  doing: 'Cancelling',
  did: 'Cancelled',
  name: 'Cancel',
};

/**
 * "Requeue all 1,204 failed jobs of send_email": the count from a dry run with the screen's
 * topic filter, a confirmation, then calls of STEP jobs each with progress, then the result.
 */
async function runBulk(action: BulkAction, client: JobsClient, topic: string, box: HTMLElement, done: () => void): Promise<void> {
  const filter: BulkActionBody = { ...action.filter, ...(topic ? { topic } : {}) };
  const ofTopic = topic ? ` of ${topic}` : '';
  const say = (text: string, cls = 'muted') => mount(box, h('p', { class: `bulk-status ${cls}`, role: 'status' }, text));
  try {
    const { matched = 0 } = await action.run(client, { ...filter, dry_run: true });
    const what = `${count(matched)} ${action.noun}${matched === 1 ? '' : 's'}${ofTopic}`;
    if (matched === 0) {
      say(action.none(ofTopic));
      return;
    }
    if (!(await confirmDialog(action.confirm(what), action.confirmLabel))) return;
    let changed = 0;
    say(`${action.doing} ${what}… 0 of ${count(matched)}`);
    for (;;) {
      const step = await action.run(client, { ...filter, limit: STEP });
      changed += step.changed;
      say(`${action.doing} ${what}… ${count(changed)} of ${count(matched)}`);
      // Jobs that come to match meanwhile (failed again, enqueued): stop at the count confirmed.
      if (step.changed < STEP || changed >= matched) break;
    }
    say(`${action.did} ${count(changed)} job${changed === 1 ? '' : 's'}.`, 'ok');
  } catch (err) {
    say(`${action.name} stopped: ${err instanceof Error ? err.message : String(err)}`, 'error');
  } finally {
    done();
  }
}

export const requeueAllFailed = (client: JobsClient, topic: string, box: HTMLElement, done: () => void) => runBulk(REQUEUE_FAILED, client, topic, box, done);
export const cancelAllActive = (client: JobsClient, topic: string, box: HTMLElement, done: () => void) => runBulk(CANCEL_ACTIVE, client, topic, box, done);

/** The buttons, labelled for the screen's topic filter. */
export function requeueAllButton(topic: string, onClick: () => void): HTMLElement {
  return h('button', { type: 'button', class: 'requeue-all', onclick: onClick }, topic ? `Requeue failed of ${topic}…` : 'Requeue all failed…');
}

export function cancelAllButton(topic: string, onClick: () => void): HTMLElement {
  return h(
    'button',
    { type: 'button', class: 'cancel-all', onclick: onClick },
    topic ? `Cancel pending/processing of ${topic}…` : 'Cancel all pending/processing…',
  );
}
