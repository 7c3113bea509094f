import { createJobsClient, JobsApiError, type Job, type JobPage, type JobStats } from '@jobbase/client';
import { cancelAllActive, cancelAllButton, requeueAllButton, requeueAllFailed } from './bulk.js';
import { h, mount } from './dom.js';
import { followLive } from './live.js';
import { session } from './session.js';
import { showTopics } from './topics.js';
import { navView, showSchedules, type Page } from './schedules.js';
import { showWorkerTokens } from './worker-tokens.js';
import { confirmDialog, detailView, pagerView, signInView, SORTS, statsView, STATUSES, tableView } from './views.js';

/** Polling while the live stream is down; while it is up, its events drive the redraws. */
const REFRESH_MS = 5_000;
const PAGE_SIZE = 20;
/** What the table shows: the list loads no payloads (a job's panel reads its own). */
const LIST_FIELDS = 'id,topic,status,run_at,retries,max_retries,last_error,priority,snoozes,unique_key,unique_states,created,updated';

/** Everything the screen shows; `render*` functions draw from it. */
const state = {
  stats: null as JobStats | null,
  page: null as JobPage | null,
  loading: false,
  problem: null as string | null,
  filters: { topic: '', status: '', uniqueKey: '', priority: '', sort: '-created' as (typeof SORTS)[number]['value'] },
  offset: 0,
  selected: null as Job | null,
  detailProblem: null as string | null,
};

const root = document.getElementById('app')!;
// The admin is served by the server it manages: same origin, no CORS.
const client = createJobsClient({ baseUrl: window.location.origin, token: session.load() });
let timer: number | undefined;
/** Stops the Schedules page's refresh, when it is the page shown. */
let leaveSchedules: (() => void) | null = null;
/** Stops the jobs page's live stream, when it is the page shown. */
let stopLive: (() => void) | undefined;

function leaveJobs(): void {
  stopLive?.();
  stopLive = undefined;
}

/** `#/schedules` shows the Schedules page, `#/topics` the Topics page, `#/tokens` the Worker tokens page; anything else the jobs. */
function route(): void {
  if (!client.token) return;
  window.clearInterval(timer);
  leaveSchedules?.();
  leaveSchedules = null;
  leaveJobs();
  if (window.location.hash === '#/schedules') {
    const header = topBar('Schedules');
    leaveSchedules = showSchedules(root, { client, failed, header });
  } else if (window.location.hash === '#/topics') {
    // The Topics page keeps its refresh on the shell's timer, which route() clears.
    timer = showTopics(root, { client, failed, header: topBar('Topics') });
  } else if (window.location.hash === '#/tokens') {
    // Nothing to stop on leaving: the page reads the tokens only when someone acts.
    showWorkerTokens(root, { client, failed, header: topBar('Worker tokens', 'tokens') });
  } else showJobs();
}

function topBar(title: 'Jobs' | 'Topics' | 'Schedules' | 'Worker tokens', page = title.toLowerCase() as Page): HTMLElement {
  return h(
    'header',
    { class: 'top' },
    h('h1', {}, 'Jobbase', h('span', { class: 'muted' }, ` · ${title}`)),
    navView(page),
    h('button', { type: 'button', class: 'signout', onclick: () => signOut() }, 'Sign out'),
  );
}

function signOut(message: string | null = null): void {
  window.clearInterval(timer);
  leaveSchedules?.();
  leaveSchedules = null;
  leaveJobs();
  session.clear();
  client.setToken(null);
  Object.assign(state, { stats: null, page: null, selected: null, problem: null, offset: 0 });
  mount(root, signInView(signIn, message));
}

async function signIn(email: string, password: string): Promise<void> {
  try {
    const auth = await client.authWithPassword(email, password);
    session.save(auth.token);
    route();
  } catch (err) {
    const message = err instanceof JobsApiError && err.status === 400 ? 'Wrong email or password.' : describe(err);
    mount(root, signInView(signIn, message, email));
  }
}

/** Any call's failure: an expired or revoked token goes back to sign in, the rest is shown. */
function failed(err: unknown): string | null {
  if (err instanceof JobsApiError && err.status === 401) {
    signOut('Your session has expired. Sign in again.');
    return null;
  }
  return describe(err);
}

function describe(err: unknown): string {
  if (err instanceof JobsApiError) {
    const fields = Object.entries(err.data).map(([field, p]) => `${field}: ${p.message}`);
    return [err.isNetworkError ? 'The server cannot be reached.' : err.message, ...fields].join(' ');
  }
  return err instanceof Error ? err.message : String(err);
}

// Containers re-drawn on each refresh; the filter form is drawn once so typing is never lost.
const statsBox = h('div');
const problemBox = h('div');
const tableBox = h('div', { class: 'table-box' });
const pagerBox = h('div');
const detailBox = h('div');
const bulkBox = h('div', { class: 'bulk-box' });
const liveBox = h('span', { class: 'live muted' });
const bulkButtonBox = h('span');

function bulkButton(): HTMLElement {
  const topic = state.filters.topic;
  return h(
    'span',
    {},
    requeueAllButton(topic, () => void requeueAllFailed(client, topic, bulkBox, () => void refresh())),
    cancelAllButton(topic, () => void cancelAllActive(client, topic, bulkBox, () => void refresh())),
  );
}

/** Polls only while the live stream is down. */
function setLive(live: boolean): void {
  mount(liveBox, live ? '● live' : '○ reconnecting…');
  liveBox.className = live ? 'live on' : 'live muted';
  window.clearInterval(timer);
  if (!live) timer = window.setInterval(() => void refresh(), REFRESH_MS);
}

function showJobs(): void {
  const topic = h('input', { id: 'filter-topic', name: 'topic', type: 'search', placeholder: 'any topic', value: state.filters.topic });
  const uniqueKey = h('input', {
    id: 'filter-unique-key',
    name: 'unique_key',
    type: 'search',
    placeholder: 'any key',
    value: state.filters.uniqueKey,
  });
  const status = h(
    'select',
    { id: 'filter-status', name: 'status' },
    h('option', { value: '' }, 'any status'),
    ...STATUSES.map((s) => h('option', { value: s, selected: state.filters.status === s }, s)),
  );
  const priority = h('input', {
    id: 'filter-priority',
    name: 'priority',
    type: 'number',
    min: -32768,
    max: 32767,
    step: 1,
    placeholder: 'any',
    value: state.filters.priority,
  });
  const sort = h(
    'select',
    { id: 'filter-sort', name: 'sort' },
    ...SORTS.map((s) => h('option', { value: s.value, selected: state.filters.sort === s.value }, s.label)),
  );
  const apply = () => {
    state.filters = {
      topic: topic.value.trim(),
      status: status.value,
      uniqueKey: uniqueKey.value,
      priority: priority.value.trim(),
      sort: sort.value as (typeof SORTS)[number]['value'],
    };
    state.offset = 0;
    // The bulk button names the topic it acts on.
    mount(bulkButtonBox, bulkButton());
    void refresh();
  };
  status.addEventListener('change', apply);
  sort.addEventListener('change', apply);
  mount(
    root,
    topBar('Jobs'),
    h(
      'main',
      { class: 'jobs-page' },
      statsBox,
      h(
        'form',
        {
          class: 'filters',
          role: 'search',
          onsubmit: ((e: Event) => {
            e.preventDefault();
            apply();
          }) as EventListener,
        },
        h('label', { for: 'filter-topic' }, 'Topic'),
        topic,
        h('label', { for: 'filter-status' }, 'Status'),
        status,
        h('label', { for: 'filter-unique-key' }, 'Unique key'),
        uniqueKey,
        h('label', { for: 'filter-priority' }, 'Priority'),
        priority,
        h('label', { for: 'filter-sort' }, 'Sort'),
        sort,
        h('button', { type: 'submit' }, 'Filter'),
        h('button', { type: 'button', class: 'refresh', onclick: () => void refresh() }, 'Refresh'),
        bulkButtonBox,
        liveBox,
      ),
      bulkBox,
      problemBox,
      h('div', { class: 'split' }, h('div', { class: 'list' }, tableBox, pagerBox), detailBox),
    ),
  );
  mount(bulkButtonBox, bulkButton());
  stopLive?.();
  setLive(false);
  stopLive = followLive(client, {
    redraw: refresh,
    onConnection: setLive,
    onRefused: (err) => void failed(err),
  });
  void refresh();
}

async function refresh(): Promise<void> {
  state.loading = true;
  if (!state.page) renderList();
  // The table shows no payload (a job's panel reads its own), and a page of large payloads
  // could be more than the server lets one list page carry.
  const query = {
    limit: PAGE_SIZE,
    offset: state.offset,
    fields: LIST_FIELDS,
    ...(state.filters.topic ? { topic: state.filters.topic } : {}),
    ...(state.filters.status ? { status: state.filters.status as Job['status'] } : {}),
    // A key is matched exactly, spaces included: it is whatever the enqueue sent.
    ...(state.filters.uniqueKey ? { unique_key: state.filters.uniqueKey } : {}),
    // As typed: a number out of range, or not a whole one, comes back as the server's 400.
    ...(state.filters.priority ? { priority: Number(state.filters.priority) } : {}),
    sort: state.filters.sort,
  };
  try {
    const [stats, page, selected] = await Promise.all([
      client.stats(),
      client.list(query),
      state.selected ? client.get(state.selected.id).catch((err: unknown) => missing(err)) : null,
    ]);
    Object.assign(state, { stats, page, problem: null, loading: false });
    if (state.selected) state.selected = selected;
  } catch (err) {
    state.loading = false;
    const message = failed(err);
    if (message === null) return;
    state.problem = message;
  }
  renderList();
  renderDetail();
}

/** A job deleted meanwhile closes its panel; other errors propagate. */
function missing(err: unknown): null {
  if (err instanceof JobsApiError && err.status === 404) return null;
  throw err;
}

function renderList(): void {
  mount(statsBox, statsView(state.stats));
  mount(problemBox, state.problem ? h('p', { class: 'error', role: 'alert' }, state.problem) : null);
  mount(tableBox, tableView(state.page, state.loading, (id) => void open(id), state.filters.sort));
  mount(pagerBox, pagerView(state.page, (offset) => {
    state.offset = offset;
    void refresh();
  }));
}

function renderDetail(): void {
  if (!state.selected) {
    mount(detailBox);
    return;
  }
  mount(
    detailBox,
    detailView(
      state.selected,
      {
        close: () => {
          state.selected = null;
          state.detailProblem = null;
          renderDetail();
        },
        requeue: (job) => void act(() => client.requeue(job.id)),
        remove: (job) => void remove(job),
        cancel: (job) => void cancel(job),
      },
      state.detailProblem,
    ),
  );
}

async function remove(job: Job): Promise<void> {
  if (!(await confirmDialog(`Delete job ${job.id} (${job.topic})? This cannot be undone.`, 'Delete'))) return;
  await act(async () => {
    await client.delete(job.id);
    return null;
  });
}

async function cancel(job: Job): Promise<void> {
  const what = job.status === 'processing' ? 'Its handler will be told to stop.' : 'It will not run.';
  if (!(await confirmDialog(`Cancel job ${job.id} (${job.topic})? ${what}`, 'Cancel job'))) return;
  await act(() => client.cancel(job.id));
}

async function open(id: string): Promise<void> {
  try {
    state.selected = await client.get(id);
    state.detailProblem = null;
  } catch (err) {
    const message = failed(err);
    if (message === null) return;
    state.problem = message;
    renderList();
    return;
  }
  renderDetail();
  detailBox.querySelector<HTMLElement>('.close')?.focus();
}

/** Runs an action on the open job, shows the server's refusal if it comes, then refreshes. */
async function act(action: () => Promise<Job | null>): Promise<void> {
  try {
    state.selected = await action();
    state.detailProblem = null;
  } catch (err) {
    const message = failed(err);
    if (message === null) return;
    state.detailProblem = message;
  }
  await refresh();
}

window.addEventListener('hashchange', route);
if (client.token) route();
else signOut();
