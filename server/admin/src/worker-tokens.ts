import type { CreatedWorkerToken, JobsClient, WorkerToken } from '@jobbase/client';
import { h, mount } from './dom.js';
import { confirmDialog, itemsTable, timeView } from './views.js';

/*
 * The Worker tokens page (issue 19): the tokens remote workers authenticate with, a form to make
 * one, and a Revoke button each — what `jobbase token create|list|revoke` does, through
 * @jobbase/client like every other page. A new token's secret is shown once, right after it is
 * made: the server keeps only its hash, so neither this page nor any route can show it again.
 */

export interface WorkerTokensPageContext {
  client: JobsClient;
  /** A call's failure as text to show, or null when it signed the viewer out (401). */
  failed: (err: unknown) => string | null;
  /** The page's top bar (title, navigation, sign out). */
  header: HTMLElement;
}

/** `a, b ,, c` → `['a', 'b', 'c']`; nothing typed → undefined: every topic. */
function topicsTyped(text: string): string[] | undefined {
  const topics = text.split(',').map((t) => t.trim()).filter((t) => t.length > 0);
  return topics.length > 0 ? topics : undefined;
}

/** Draws the page into `root`. Tokens change only when someone acts, so it reads them on arrival, after each action and on Refresh. */
export function showWorkerTokens(root: HTMLElement, ctx: WorkerTokensPageContext): void {
  const problemBox = h('div');
  const createdBox = h('div');
  const tableBox = h('div', { class: 'table-box' });
  let tokens: WorkerToken[] | null = null;

  const alert = (message: string) => h('p', { class: 'error', role: 'alert' }, message);
  const show = (message: string | null) => mount(problemBox, message ? alert(message) : null);

  async function refresh(): Promise<void> {
    try {
      tokens = await ctx.client.listWorkerTokens();
      show(null);
    } catch (err) {
      const message = ctx.failed(err);
      if (message === null) return;
      show(message);
    }
    renderTable();
  }

  async function revoke(t: WorkerToken): Promise<void> {
    const question = `Revoke worker token ${t.name}? Workers using it are refused from their next request; this cannot be undone.`;
    if (!(await confirmDialog(question, 'Revoke'))) return;
    try {
      await ctx.client.revokeWorkerToken(t.id);
      show(null);
    } catch (err) {
      const message = ctx.failed(err);
      if (message === null) return;
      show(message);
    }
    await refresh();
  }

  function renderTable(): void {
    const row = (t: WorkerToken) =>
      h(
        'tr',
        { 'data-id': t.id },
        h('th', { scope: 'row', class: 'name' }, t.name),
        h('td', { class: 'topics' }, t.topics === null ? h('span', { class: 'muted' }, 'all topics') : t.topics.join(', ')),
        h('td', { class: 'created' }, timeView(t.created)),
        h('td', {}, h('button', { type: 'button', class: 'danger', 'aria-label': `Revoke ${t.name}`, onclick: () => void revoke(t) }, 'Revoke')),
      );
    mount(tableBox, itemsTable(tokens, { plural: 'worker tokens', class: 'tokens', columns: ['Name', 'Topics', 'Created', ''] }, row));
  }

  /** The secret, once: a read-only field to copy from, and the warning that it is the only chance. */
  function showCreated(created: CreatedWorkerToken): void {
    const secret = h('input', { id: 'new-token', class: 'mono', readonly: true, value: created.token, spellcheck: 'false', autocomplete: 'off' });
    const copied = h('span', { class: 'muted', role: 'status' });
    const copy = async () => {
      secret.select();
      // The clipboard API needs a secure context (https or localhost); elsewhere the field stays selected for Ctrl-C.
      try {
        await navigator.clipboard.writeText(created.token);
        mount(copied, 'Copied.');
      } catch {
        mount(copied, 'Selected: press Ctrl-C (⌘-C) to copy.');
      }
    };
    mount(
      createdBox,
      h(
        'section',
        { class: 'new-token', 'aria-labelledby': 'new-token-title' },
        h('h2', { id: 'new-token-title' }, 'Token for ', h('code', {}, created.name)),
        h('p', { class: 'warning', role: 'alert' }, 'Copy this token now: it will not be shown again. The server keeps only its hash.'),
        h('label', { for: 'new-token' }, 'Token'),
        h('div', { class: 'secret' }, secret, h('button', { type: 'button', onclick: () => void copy() }, 'Copy'), copied),
        h('button', { type: 'button', class: 'done', onclick: () => mount(createdBox) }, 'Done, I have copied it'),
      ),
    );
    secret.focus();
    secret.select();
  }

  const name = h('input', { id: 'token-name', name: 'name', placeholder: 'worker-<the time>' });
  const topics = h('input', { id: 'token-topics', name: 'topics', placeholder: 'all topics' });
  const formProblem = h('div');
  const create = async () => {
    mount(createdBox);
    let created: CreatedWorkerToken;
    try {
      created = await ctx.client.createWorkerToken({ name: name.value.trim() || undefined, topics: topicsTyped(topics.value) });
    } catch (err) {
      const message = ctx.failed(err);
      if (message !== null) mount(formProblem, alert(message));
      return;
    }
    mount(formProblem);
    name.value = '';
    topics.value = '';
    showCreated(created);
    await refresh();
  };

  mount(
    root,
    ctx.header,
    h(
      'main',
      { class: 'tokens-page' },
      h(
        'p',
        { class: 'muted' },
        'A worker token lets a remote worker claim, heartbeat and finish jobs of its topics over HTTP, and nothing else. ',
        'A revoked token is refused from its next request.',
      ),
      h(
        'form',
        {
          class: 'token-form',
          'aria-labelledby': 'token-form-title',
          // The server checks the name and each topic and names a bad one; the browser's own check would hide that.
          novalidate: true,
          onsubmit: ((e: Event) => {
            e.preventDefault();
            void create();
          }) as EventListener,
        },
        h('h2', { id: 'token-form-title' }, 'New worker token'),
        h('label', { for: 'token-name' }, 'Name'),
        name,
        h('label', { for: 'token-topics' }, 'Topics (comma-separated)'),
        topics,
        formProblem,
        h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary' }, 'Create token')),
      ),
      createdBox,
      h('div', { class: 'toolbar' }, h('button', { type: 'button', class: 'refresh', onclick: () => void refresh() }, 'Refresh')),
      problemBox,
      tableBox,
    ),
  );
  renderTable();
  void refresh();
}
