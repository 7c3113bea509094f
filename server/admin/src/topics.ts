import type { JobsClient, TopicInfo } from '@jobbase/client';
import { h, mount } from './dom.js';
import { timeView } from './views.js';

const REFRESH_MS = 2_000;

/** What the Topics page needs of the shell in main.ts. */
export interface TopicsPageDeps {
  client: JobsClient;
  /** A call's failure as a message, or null when it sent the viewer back to sign in. */
  failed: (err: unknown) => string | null;
  /** The page's top bar (title, navigation, sign out). */
  header: HTMLElement;
}

/**
 * The Topics page: each topic's jobs by status, its longest wait, whether it is paused, its cap
 * and rate limit, with pause/resume buttons and a form for the cap and the limit. The table is
 * redrawn every REFRESH_MS; the form is drawn once per topic chosen, so typing is never lost.
 * Returns the refresh timer, for the shell to clear when it leaves the page.
 */
export function showTopics(root: HTMLElement, deps: TopicsPageDeps): number {
  const { client } = deps;
  const problemBox = h('div');
  const tableBox = h('div', { class: 'table-box' });
  const editBox = h('div');
  let topics: TopicInfo[] | null = null;

  const refresh = async () => {
    try {
      topics = await client.listTopics();
      mount(problemBox);
    } catch (err) {
      const message = deps.failed(err);
      if (message === null) return;
      mount(problemBox, h('p', { class: 'error', role: 'alert' }, message));
    }
    mount(tableBox, topicsTable(topics, { pause, resume, edit }));
  };

  /** Runs a change, shows the server's refusal where it happened, then redraws. */
  const change = async (where: HTMLElement, action: () => Promise<unknown>) => {
    try {
      await action();
      mount(where);
    } catch (err) {
      const message = deps.failed(err);
      if (message === null) return;
      mount(where, h('p', { class: 'error', role: 'alert' }, message));
    }
    await refresh();
  };
  const pause = (topic: string) => void change(problemBox, () => client.pauseTopic(topic));
  const resume = (topic: string) => void change(problemBox, () => client.resumeTopic(topic));
  const edit = (topic: TopicInfo) => {
    const formProblem = h('div');
    mount(
      editBox,
      settingsForm(topic, formProblem, {
        save: (update) => void change(formProblem, () => client.updateTopic(topic.topic, update)),
        close: () => mount(editBox),
      }),
    );
    editBox.querySelector<HTMLInputElement>('input')?.focus();
  };

  mount(
    root,
    deps.header,
    h(
      'main',
      { class: 'topics-page' },
      h('p', { class: 'muted' }, 'Settings apply to every process within a second. Pausing stops new claims; running jobs finish.'),
      problemBox,
      tableBox,
      editBox,
    ),
  );
  mount(tableBox, h('p', { class: 'muted', role: 'status' }, 'Loading topics…'));
  void refresh();
  return window.setInterval(() => void refresh(), REFRESH_MS);
}

interface RowActions {
  pause: (topic: string) => void;
  resume: (topic: string) => void;
  edit: (topic: TopicInfo) => void;
}

function topicsTable(topics: TopicInfo[] | null, actions: RowActions): HTMLElement {
  if (!topics) return h('p', { class: 'muted', role: 'status' }, 'No data.');
  if (topics.length === 0) return h('p', { class: 'muted', role: 'status' }, 'No topics yet: none has jobs, a handler or settings.');
  const head = ['Topic', 'Pending', 'Processing', 'Completed', 'Failed', 'Longest wait', 'State', 'Cap', 'Rate limit', 'Handler seen', ''];
  return h(
    'table',
    { class: 'topics' },
    h('thead', {}, h('tr', {}, ...head.map((label) => h('th', { scope: 'col' }, label)))),
    h(
      'tbody',
      {},
      ...topics.map((t) =>
        h(
          'tr',
          { 'data-topic': t.topic },
          h('th', { scope: 'row', class: 'topic' }, t.topic),
          h('td', { 'data-count': 'pending' }, String(t.counts.pending)),
          h('td', { 'data-count': 'processing' }, String(t.counts.processing)),
          h('td', { 'data-count': 'completed' }, String(t.counts.completed)),
          h('td', { 'data-count': 'failed' }, String(t.counts.failed)),
          h('td', { class: 'wait' }, t.oldest_pending_age_ms === null ? '–' : formatAge(t.oldest_pending_age_ms)),
          h('td', { class: 'state' }, h('span', { class: `badge ${t.paused ? 'status-failed' : 'status-completed'}` }, t.paused ? 'paused' : 'running')),
          h('td', { class: 'cap' }, t.max_running === null ? 'none' : String(t.max_running)),
          h('td', { class: 'rate' }, t.rate_limit ? `${t.rate_limit.max} per ${formatAge(t.rate_limit.per_ms)}` : 'none'),
          h('td', {}, t.registered_at ? timeView(t.registered_at) : '–'),
          h(
            'td',
            { class: 'actions' },
            t.paused
              ? h('button', { type: 'button', class: 'resume', onclick: () => actions.resume(t.topic) }, 'Resume')
              : h('button', { type: 'button', class: 'pause', onclick: () => actions.pause(t.topic) }, 'Pause'),
            h('button', { type: 'button', class: 'edit', onclick: () => actions.edit(t) }, 'Limits…'),
          ),
        ),
      ),
    ),
  );
}

/** The cap and the rate limit of one topic; an empty field clears it. */
function settingsForm(
  topic: TopicInfo,
  problem: HTMLElement,
  on: { save: (update: Parameters<JobsClient['updateTopic']>[1]) => void; close: () => void },
): HTMLElement {
  const number = (id: string, value: number | undefined, placeholder: string) =>
    h('input', { id, name: id, type: 'number', min: 1, step: 1, placeholder, value: value === undefined ? '' : String(value) });
  const cap = number('topic-max-running', topic.max_running ?? undefined, 'no cap');
  const rateMax = number('topic-rate-max', topic.rate_limit?.max, 'no limit');
  const ratePer = number('topic-rate-per-ms', topic.rate_limit?.per_ms, 'ms');
  // As typed: a bad number comes back as the server's 400, which names the field.
  const read = (input: HTMLInputElement) => (input.value.trim() === '' ? null : Number(input.value));
  return h(
    'form',
    {
      class: 'topic-settings',
      'aria-label': `Limits of ${topic.topic}`,
      // The server checks the numbers and names a bad one; the browser's own check would hide that.
      novalidate: true,
      onsubmit: ((e: Event) => {
        e.preventDefault();
        const max = read(rateMax);
        const perMs = read(ratePer);
        on.save({
          maxRunning: read(cap),
          rateLimit: max === null && perMs === null ? null : { max: max as number, perMs: perMs as number },
        });
      }) as EventListener,
    },
    h('h2', {}, 'Limits of ', h('code', {}, topic.topic)),
    h('label', { for: 'topic-max-running' }, 'Most running at once (every process)'),
    cap,
    h('label', { for: 'topic-rate-max' }, 'Rate limit: starts'),
    rateMax,
    h('label', { for: 'topic-rate-per-ms' }, 'per (ms)'),
    ratePer,
    problem,
    h('button', { type: 'submit', class: 'primary' }, 'Save'),
    h('button', { type: 'button', class: 'close', onclick: () => on.close() }, 'Close'),
  );
}

/** ms as the page shows a wait or a window: `850 ms`, `12 s`, `3 min`, `2 h`. */
function formatAge(ms: number): string {
  if (ms < 1_000) return `${ms} ms`;
  if (ms < 60_000) return `${Math.round(ms / 1_000)} s`;
  if (ms < 3_600_000) return `${Math.round(ms / 60_000)} min`;
  return `${Math.round(ms / 3_600_000)} h`;
}
