import type { Job } from '@jobbase/client';
import { h } from './dom.js';
import { prettyJson } from './format.js';

/**
 * The detail panel's parts for a job while and after it runs (issue 15): its progress and result,
 * and the Cancel button on the jobs that can still be cancelled.
 */
export function runningJobSections(job: Job): HTMLElement[] {
  const sections: HTMLElement[] = [];
  if (job.cancel_requested && job.status === 'processing') {
    const note = 'Cancel requested: the handler was told to stop; the job becomes cancelled when it does.';
    sections.push(h('p', { class: 'cancel-requested', role: 'status' }, note));
  }
  sections.push(h('h3', {}, 'Progress'), jsonOrNone(job.progress, 'progress', 'None reported.'));
  if (job.status === 'completed') sections.push(h('h3', {}, 'Result'), jsonOrNone(job.result, 'result', 'None returned.'));
  return sections;
}

function jsonOrNone(value: unknown, cls: string, none: string): HTMLElement {
  if (value === null || value === undefined) return h('p', { class: 'muted' }, none);
  return h('pre', { class: cls, tabindex: 0 }, prettyJson(value));
}

/** Pending and processing jobs can be cancelled; once a cancel is requested there is nothing more to ask. */
export function cancelButton(job: Job, onCancel: (job: Job) => void): HTMLElement | null {
  const cancellable = job.status === 'pending' || (job.status === 'processing' && !job.cancel_requested);
  return cancellable ? h('button', { type: 'button', class: 'danger', onclick: () => onCancel(job) }, 'Cancel job') : null;
}
