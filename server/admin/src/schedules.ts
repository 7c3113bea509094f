import type { JobsClient, Schedule } from '@jobbase/client';
import { h, mount } from './dom.js';
import { localTime, prettyJson } from './format.js';
import { badge, confirmDialog, itemsTable } from './views.js';

/*
 * The Schedules page (issue 16): every recurring schedule with its next run (in the viewer's time
 * zone and in UTC), last run and last job's status, and pause, resume, trigger, edit and delete.
 * Like the jobs page it talks to the server only through @jobbase/client.
 */

const REFRESH_MS = 5_000;

export interface SchedulesPageContext {
  client: JobsClient;
  /** A call's failure as text to show, or null when it signed the viewer out (401). */
  failed: (err: unknown) => string | null;
  /** The page's top bar (title, navigation, sign out). */
  header: HTMLElement;
}

/** The links between pages; `active` is the one shown. */
export function navView(active: Page): HTMLElement {
  const link = (page: Page, href: string, label: string) =>
    h('a', { href, class: page === active ? 'active' : null, 'aria-current': page === active ? 'page' : null }, label);
  return h(
    'nav',
    { class: 'pages', 'aria-label': 'Pages' },
    link('jobs', '#/', 'Jobs'),
    link('topics', '#/topics', 'Topics'),
    link('schedules', '#/schedules', 'Schedules'),
    link('tokens', '#/tokens', 'Worker tokens'),
  );
}

/** The admin's pages, as `navView` links them. */
export type Page = 'jobs' | 'topics' | 'schedules' | 'tokens';

/** Both times a person needs: theirs, and UTC (the server's and the cron's reference). */
function runTimeView(iso: string | null): HTMLElement {
  if (iso === null) return h('span', { class: 'muted' }, 'never');
  const local = localTime(iso);
  return h(
    'time',
    { datetime: iso },
    h('span', { class: 'local' }, local ? `${local.date} ${local.clock}` : iso),
    h('br'),
    h('span', { class: 'utc muted' }, `${iso.slice(0, 19).replace('T', ' ')} UTC`),
  );
}

function misfireText(misfire: Schedule['misfire']): string {
  return typeof misfire === 'string' ? misfire : `backfill ≤ ${misfire.backfill.max}`;
}

/** Draws the page into `root` and keeps it fresh; returns a function that stops its refresh. */
export function showSchedules(root: HTMLElement, ctx: SchedulesPageContext): () => void {
  const problemBox = h('div');
  const tableBox = h('div', { class: 'table-box' });
  const formBox = h('div');
  let schedules: Schedule[] | null = null;

  const show = (message: string | null) =>
    mount(problemBox, message ? h('p', { class: 'error', role: 'alert' }, message) : null);

  async function refresh(): Promise<void> {
    try {
      schedules = await ctx.client.schedules.list();
      show(null);
    } catch (err) {
      const message = ctx.failed(err);
      if (message === null) return;
      show(message);
    }
    renderTable();
  }

  /** Runs one action; the server's refusal is shown, then the list is read again. */
  async function act(action: () => Promise<unknown>): Promise<void> {
    try {
      await action();
      show(null);
    } catch (err) {
      const message = ctx.failed(err);
      if (message === null) return;
      show(message);
      return;
    }
    await refresh();
  }

  async function remove(s: Schedule): Promise<void> {
    if (!(await confirmDialog(`Delete schedule ${s.name}? No tick fires after this; its jobs stay.`, 'Delete'))) return;
    await act(() => ctx.client.schedules.delete(s.name));
  }

  function renderTable(): void {
    const row = (s: Schedule) =>
      h(
        'tr',
        { 'data-name': s.name, class: s.paused ? 'paused' : null },
        h('th', { scope: 'row' }, h('code', {}, s.name)),
        h('td', {}, h('code', { class: 'cron' }, s.cron), h('br'), h('span', { class: 'muted timezone' }, s.timezone)),
        h('td', {}, s.topic),
        h('td', { class: 'next-run' }, s.paused ? h('span', { class: 'badge paused' }, 'paused') : runTimeView(s.next_run_at)),
        h('td', { class: 'last-run' }, runTimeView(s.last_run_at)),
        h('td', { class: 'last-job' }, s.last_job_status ? badge(s.last_job_status) : h('span', { class: 'muted' }, '—')),
        h('td', { class: 'policies' }, `misfire ${misfireText(s.misfire)}`, h('br'), `overlap ${s.overlap}`, s.skipped_ticks ? ` (${s.skipped_ticks} skipped)` : ''),
        h(
          'td',
          {},
          h(
            'div',
            { class: 'row-actions' },
          s.paused
            ? h('button', { type: 'button', onclick: () => void act(() => ctx.client.schedules.resume(s.name)) }, 'Resume')
            : h('button', { type: 'button', onclick: () => void act(() => ctx.client.schedules.pause(s.name)) }, 'Pause'),
          h('button', { type: 'button', onclick: () => void act(() => ctx.client.schedules.trigger(s.name)) }, 'Trigger'),
          h('button', { type: 'button', onclick: () => openForm(s) }, 'Edit'),
          h('button', { type: 'button', class: 'danger', onclick: () => void remove(s) }, 'Delete'),
          ),
        ),
      );
    const columns = ['Name', 'Cron', 'Topic', 'Next run', 'Last run', 'Last job', 'Policies', 'Actions'];
    mount(tableBox, itemsTable(schedules, { plural: 'schedules', class: 'schedules', columns }, row));
  }

  /** The create form (no schedule) or the edit form of `s`. */
  function openForm(s: Schedule | null): void {
    const field = (id: string, label: string, input: HTMLElement) => [h('label', { for: id }, label), input];
    const name = h('input', { id: 'schedule-name', required: true, value: s?.name ?? '', readonly: s !== null });
    const cron = h('input', { id: 'schedule-cron', required: true, value: s?.cron ?? '', placeholder: '*/5 * * * *' });
    const timezone = h('input', { id: 'schedule-timezone', value: s?.timezone ?? 'UTC' });
    const topic = h('input', { id: 'schedule-topic', required: true, value: s?.topic ?? '' });
    const payload = h('textarea', { id: 'schedule-payload', rows: 4 });
    payload.value = s ? prettyJson(s.payload) : '{}';
    const number = (id: string, value: number | null | undefined) => h('input', { id, type: 'number', step: 1, value: value ?? '' });
    const maxRetries = number('schedule-max-retries', s?.max_retries);
    const priority = number('schedule-priority', s?.priority);
    const current = s ? (typeof s.misfire === 'string' ? s.misfire : 'backfill') : 'skip';
    const misfire = h('select', { id: 'schedule-misfire' }, ...['skip', 'run_once', 'backfill'].map((m) => h('option', { value: m, selected: m === current }, m)));
    const backfillMax = number('schedule-backfill-max', s && typeof s.misfire === 'object' ? s.misfire.backfill.max : 10);
    const overlap = h('select', { id: 'schedule-overlap' }, ...['allow', 'skip'].map((o) => h('option', { value: o, selected: o === (s?.overlap ?? 'allow') }, o)));
    const formProblem = h('div');

    const save = async () => {
      let payloadValue: unknown;
      try {
        payloadValue = JSON.parse(payload.value || '{}');
      } catch {
        mount(formProblem, h('p', { class: 'error', role: 'alert' }, 'payload: not valid JSON.'));
        return;
      }
      const optionalNumber = (input: HTMLInputElement) => (input.value.trim() === '' ? undefined : Number(input.value));
      const definition = {
        cron: cron.value,
        timezone: timezone.value.trim() || undefined,
        topic: topic.value,
        payload: payloadValue,
        max_retries: optionalNumber(maxRetries),
        priority: optionalNumber(priority),
        misfire: misfire.value === 'backfill' ? { backfill: { max: Number(backfillMax.value) } } : (misfire.value as 'skip' | 'run_once'),
        overlap: overlap.value as 'allow' | 'skip',
      };
      try {
        if (s) await ctx.client.schedules.update(s.name, definition);
        else await ctx.client.schedules.create({ name: name.value, ...definition });
      } catch (err) {
        const message = ctx.failed(err);
        if (message !== null) mount(formProblem, h('p', { class: 'error', role: 'alert' }, message));
        return;
      }
      mount(formBox);
      await refresh();
    };

    mount(
      formBox,
      h(
        'form',
        {
          class: 'schedule-form',
          'aria-labelledby': 'schedule-form-title',
          onsubmit: ((e: Event) => {
            e.preventDefault();
            void save();
          }) as EventListener,
        },
        h('h2', { id: 'schedule-form-title' }, s ? `Edit ${s.name}` : 'New schedule'),
        formProblem,
        ...field('schedule-name', 'Name', name),
        ...field('schedule-cron', 'Cron', cron),
        ...field('schedule-timezone', 'Time zone', timezone),
        ...field('schedule-topic', 'Topic', topic),
        ...field('schedule-payload', 'Payload (JSON)', payload),
        ...field('schedule-max-retries', 'Max retries', maxRetries),
        ...field('schedule-priority', 'Priority', priority),
        ...field('schedule-misfire', 'Misfire', misfire),
        ...field('schedule-backfill-max', 'Backfill max', backfillMax),
        ...field('schedule-overlap', 'Overlap', overlap),
        h(
          'div',
          { class: 'actions' },
          h('button', { type: 'submit', class: 'primary' }, s ? 'Save' : 'Create'),
          h('button', { type: 'button', onclick: () => mount(formBox) }, 'Cancel'),
        ),
      ),
    );
    (s ? cron : name).focus();
  }

  mount(
    root,
    ctx.header,
    h(
      'main',
      { class: 'schedules-page' },
      h(
        'div',
        { class: 'toolbar' },
        h('button', { type: 'button', class: 'primary', onclick: () => openForm(null) }, 'New schedule'),
        h('button', { type: 'button', class: 'refresh', onclick: () => void refresh() }, 'Refresh'),
      ),
      problemBox,
      formBox,
      tableBox,
    ),
  );
  renderTable();
  void refresh();
  const timer = window.setInterval(() => void refresh(), REFRESH_MS);
  return () => window.clearInterval(timer);
}
