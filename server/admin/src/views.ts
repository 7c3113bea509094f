import type { Job, JobPage, JobStats, ListOptions } from '@jobbase/client';
import { h } from './dom.js';
import { formatRate, localTime, prettyJson, shortId } from './format.js';
import { cancelButton, runningJobSections } from './running-job-views.js';

export const STATUSES = ['pending', 'processing', 'completed', 'failed', 'cancelled'] as const;

/** The list's orders, as the sort menu names them. */
export const SORTS = [
  { value: '-created', label: 'newest first' },
  { value: 'priority', label: 'priority (run order)' },
] as const;

export function signInView(
  onSubmit: (email: string, password: string) => void,
  message: string | null,
  typedEmail = '',
): HTMLElement {
  const email = h('input', { id: 'email', name: 'email', type: 'email', autocomplete: 'username', required: true, value: typedEmail });
  const password = h('input', { id: 'password', name: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const form = h(
    'form',
    {
      class: 'signin',
      'aria-labelledby': 'signin-title',
      onsubmit: ((event: Event) => {
        event.preventDefault();
        onSubmit(email.value, password.value);
      }) as EventListener,
    },
    h('h1', { id: 'signin-title' }, 'Jobbase'),
    h('p', { class: 'muted' }, 'Sign in as a superuser to manage jobs.'),
    message ? h('p', { class: 'error', role: 'alert' }, message) : null,
    h('label', { for: 'email' }, 'Email'),
    email,
    h('label', { for: 'password' }, 'Password'),
    password,
    h('button', { type: 'submit', class: 'primary' }, 'Sign in'),
  );
  queueMicrotask(() => (typedEmail ? password : email).focus());
  return h('main', { class: 'center' }, form);
}

export function statsView(stats: JobStats | null): HTMLElement {
  const cell = (label: string, value: string, cls = '') =>
    h('div', { class: `stat ${cls}`, 'data-stat': label.toLowerCase().replace(' ', '_') }, h('span', { class: 'stat-value' }, value), h('span', { class: 'stat-label' }, label));
  if (!stats) return h('section', { class: 'stats', 'aria-label': 'Stats' }, h('p', { class: 'muted' }, 'Loading stats…'));
  return h(
    'section',
    { class: 'stats', 'aria-label': 'Stats' },
    ...STATUSES.map((s) => cell(s[0]!.toUpperCase() + s.slice(1), String(stats[s]), `status-${s}`)),
    cell('Total', String(stats.total)),
    cell('Success rate', formatRate(stats.success_rate)),
  );
}

/** A time in the viewer's zone, named; the exact UTC time in its tooltip. */
export function timeView(iso: string): HTMLElement {
  const local = localTime(iso);
  if (!local) return h('time', {}, iso);
  return h(
    'time',
    { datetime: iso, title: new Date(iso).toISOString() },
    h('span', { class: 'date' }, local.date),
    ' ',
    h('span', { class: 'clock' }, local.clock),
  );
}

/**
 * A settings page's table (schedules, worker tokens): "Loading …" while `items` is null, "No …
 * yet." when there are none, else a table of `columns` with a row per item.
 */
export function itemsTable<T>(
  items: readonly T[] | null,
  what: { plural: string; class: string; columns: readonly string[] },
  row: (item: T) => HTMLElement,
): HTMLElement {
  if (!items) return h('p', { class: 'muted', role: 'status' }, `Loading ${what.plural}…`);
  if (items.length === 0) return h('p', { class: 'muted empty' }, `No ${what.plural} yet.`);
  return h(
    'table',
    { class: what.class },
    h('thead', {}, h('tr', {}, ...what.columns.map((c) => h('th', { scope: 'col' }, c)))),
    h('tbody', {}, ...items.map(row)),
  );
}

export function badge(status: Job['status']): HTMLElement {
  return h('span', { class: `badge status-${status}` }, status);
}

export function tableView(
  page: JobPage | null,
  loading: boolean,
  onOpen: (id: string) => void,
  sortedBy: ListOptions['sort'] = '-created',
): HTMLElement {
  if (!page) return h('p', { class: 'muted', role: 'status' }, loading ? 'Loading jobs…' : 'No data.');
  if (page.items.length === 0) {
    return h('p', { class: 'empty', role: 'status' }, page.total === 0 ? 'No jobs match these filters.' : 'No jobs on this page.');
  }
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      { class: 'jobs' },
      h('caption', { class: 'visually-hidden' }, sortedBy === 'priority' ? 'Jobs, in the order they would run' : 'Jobs, newest first'),
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          ...['Id', 'Topic', 'Status', 'Priority', 'Run at', 'Retries', 'Created', 'Updated'].map((t) => h('th', { scope: 'col' }, t)),
        ),
      ),
      h(
        'tbody',
        {},
        ...page.items.map((job) =>
          h(
            'tr',
            { 'data-id': job.id },
            h('td', {}, h('button', { class: 'link mono', title: job.id, onclick: () => onOpen(job.id) }, shortId(job.id))),
            h('td', { class: 'topic', title: job.topic }, job.topic),
            h('td', {}, badge(job.status)),
            h('td', { class: 'num col-priority' }, String(job.priority)),
            h('td', { class: 'col-time' }, timeView(job.run_at)),
            h('td', { class: 'num' }, `${job.retries} / ${job.max_retries}`),
            h('td', { class: 'col-time col-created' }, timeView(job.created)),
            h('td', { class: 'col-time col-updated' }, timeView(job.updated)),
          ),
        ),
      ),
    ),
  );
}

export function pagerView(page: JobPage | null, onMove: (offset: number) => void): HTMLElement | null {
  if (!page || page.total === 0) return null;
  const first = page.offset + 1;
  const last = Math.min(page.offset + page.items.length, page.total);
  return h(
    'nav',
    { class: 'pager', 'aria-label': 'Pages' },
    h('span', { class: 'range', role: 'status' }, `${first}–${last} of ${page.total}`),
    h('button', { type: 'button', disabled: page.offset === 0, onclick: () => onMove(Math.max(0, page.offset - page.limit)) }, '← Previous'),
    h('button', { type: 'button', disabled: page.offset + page.limit >= page.total, onclick: () => onMove(page.offset + page.limit) }, 'Next →'),
  );
}

export interface DetailActions {
  close(): void;
  requeue(job: Job): void;
  remove(job: Job): void;
  cancel(job: Job): void;
}

export function detailView(job: Job, actions: DetailActions, problem: string | null): HTMLElement {
  const row = (label: string, value: Node | string) => [h('dt', {}, label), h('dd', {}, value)];
  return h(
    'aside',
    { class: 'detail', 'aria-labelledby': 'detail-title' },
    h(
      'header',
      {},
      h('h2', { id: 'detail-title' }, 'Job'),
      h('button', { type: 'button', class: 'close', 'aria-label': 'Close details', onclick: () => actions.close() }, '×'),
    ),
    problem ? h('p', { class: 'error', role: 'alert' }, problem) : null,
    h(
      'dl',
      {},
      ...row('Id', h('code', {}, job.id)),
      ...row('Topic', job.topic),
      ...row('Status', badge(job.status)),
      ...row('Priority', String(job.priority)),
      ...row('Run at', timeView(job.run_at)),
      ...row('Retries', `${job.retries} / ${job.max_retries}`),
      ...row('Snoozes', String(job.snoozes)),
      // While the job is in one of these states, no other job with its key can be enqueued.
      ...(job.unique_key === null
        ? []
        : [...row('Unique key', h('code', { class: 'unique-key' }, job.unique_key)), ...row('Unique states', (job.unique_states ?? []).join(', '))]),
      // Made by a recurring schedule: its name, and the tick (none for a trigger's job).
      ...(job.schedule_name === null
        ? []
        : [
            ...row('Schedule', h('a', { class: 'schedule-name', href: '#/schedules' }, job.schedule_name)),
            ...row('Tick', job.schedule_tick ? timeView(job.schedule_tick) : 'triggered by hand'),
          ]),
      ...row('Created', timeView(job.created)),
      ...row('Updated', timeView(job.updated)),
    ),
    h('h3', {}, 'Payload'),
    h('pre', { class: 'payload', tabindex: 0 }, prettyJson(job.payload)),
    ...runningJobSections(job),
    h('h3', {}, 'Last error'),
    job.last_error ? h('pre', { class: 'last-error', tabindex: 0 }, job.last_error) : h('p', { class: 'muted' }, 'None.'),
    h(
      'div',
      { class: 'actions' },
      // Only what the rules allow is offered; the server still has the last word.
      job.status === 'failed' || job.status === 'cancelled'
        ? h('button', { type: 'button', class: 'primary', onclick: () => actions.requeue(job) }, 'Requeue')
        : null,
      cancelButton(job, actions.cancel),
      job.status === 'pending' || job.status === 'failed' || job.status === 'cancelled'
        ? h('button', { type: 'button', class: 'danger', onclick: () => actions.remove(job) }, 'Delete')
        : null,
    ),
  );
}

/** A modal question; resolves true on confirm. Escape or Cancel resolves false. */
export function confirmDialog(message: string, confirmLabel: string): Promise<boolean> {
  return new Promise((resolve) => {
    const dialog = h(
      'dialog',
      { class: 'confirm', 'aria-labelledby': 'confirm-text' },
      h('p', { id: 'confirm-text' }, message),
      h(
        'form',
        { method: 'dialog', class: 'actions' },
        h('button', { value: 'cancel', type: 'submit' }, 'Cancel'),
        h('button', { value: 'confirm', type: 'submit', class: 'danger' }, confirmLabel),
      ),
    );
    dialog.addEventListener('close', () => {
      resolve(dialog.returnValue === 'confirm');
      dialog.remove();
    });
    document.body.append(dialog);
    dialog.showModal();
  });
}
