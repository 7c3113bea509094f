import type { Store } from '@jobbase/server/testing';
import { describe, expect, it } from 'vitest';
import { dialects } from '../helpers/databases.js';
import { waitFor } from '../helpers/wait.js';
import { jobParams, useStore } from './fixture.js';

/** What a listener heard: topics (PostgreSQL NOTIFY) and wakes (SQLite commit watch, reconnects). */
class Heard {
  topics: string[] = [];
  wakes = 0;
  get signals(): number {
    return this.topics.length + this.wakes;
  }
  listen(store: Store): Promise<() => Promise<void>> {
    return store.listenForJobs!({ onTopic: (topic) => this.topics.push(topic), onWake: () => this.wakes++ });
  }
}

describe.each(dialects())('store: listenForJobs on %s', (dialect) => {
  const fx = useStore(dialect);

  it('a job inserted by another store is heard, and the stop function stops listening', async () => {
    expect(fx.store.listenForJobs).toBeTypeOf('function');
    const inserter = await fx.openAnother();
    const stopped = new Heard();
    const control = new Heard();
    const stop = await stopped.listen(fx.store);
    const stopControl = await control.listen(fx.store);
    try {
      await inserter.jobInsert(jobParams({ topic: 'heard' }));
      await waitFor('the first listener to hear the insert', () => stopped.signals > 0);
      await waitFor('the second listener to hear the insert', () => control.signals > 0);

      await stop();
      const heardBefore = stopped.signals;
      // Two more inserts, each heard by the listener still running: the stopped one had every
      // chance to hear them too.
      for (let i = 1; i <= 2; i++) {
        const seen = control.signals;
        await inserter.jobInsertMany([jobParams({ topic: 'after-stop' })]);
        await waitFor(`the running listener to hear insert ${i}`, () => control.signals > seen);
      }
      expect(stopped.signals).toBe(heardBefore);
    } finally {
      await stop();
      await stopControl();
    }
  });
});

describe.runIf(dialects().includes('sqlite'))('store: listenForJobs on sqlite', () => {
  const fx = useStore('sqlite');

  it('wakes (onWake) when another store on the same file commits a job', async () => {
    const inserter = await fx.openAnother();
    const heard = new Heard();
    const stop = await heard.listen(fx.store);
    try {
      await inserter.jobInsert(jobParams());
      await waitFor('onWake', () => heard.wakes > 0);
      const wakes = heard.wakes;
      await inserter.jobInsertMany([jobParams(), jobParams()]);
      await waitFor('onWake after the batch', () => heard.wakes > wakes);
    } finally {
      await stop();
    }
  });

  it('wakes once per commit of another store, and never while the file is untouched', async () => {
    const inserter = await fx.openAnother();
    const heard = new Heard();
    const stop = await heard.listen(fx.store);
    try {
      expect(heard.wakes).toBe(0); // listening began with a look at the file, which is no commit
      // Each wait spans several of the watch's polls (every 10 ms): a watch that woke on every
      // poll, or on its first one, would count more wakes than commits.
      for (let commit = 1; commit <= 3; commit++) {
        await inserter.jobInsert(jobParams());
        await waitFor(`the wake for commit ${commit}`, () => heard.wakes >= commit, { interval: 40 });
      }
      // The listener's own store writing is not another connection's commit.
      await fx.store.jobInsert(jobParams());
      await waitFor('a last look', async () => (await fx.store.jobList({ limit: 1, offset: 0 })).total === 4, { interval: 40 });
      expect(heard.wakes).toBe(3);
    } finally {
      await stop();
    }
  });
});

describe.runIf(dialects().includes('postgres'))('store: listenForJobs on postgres', () => {
  const fx = useStore('postgres');

  it('calls onTopic with the topic of each job another store inserts, once per topic for a batch', async () => {
    const inserter = await fx.openAnother();
    const heard = new Heard();
    const stop = await heard.listen(fx.store);
    try {
      await inserter.jobInsert(jobParams({ topic: 'send_email' }));
      await waitFor('onTopic send_email', () => heard.topics.includes('send_email'));
      await inserter.jobInsertMany(['resize', 'resize', 'bill'].map((topic) => jobParams({ topic })));
      await waitFor('onTopic for the batch', () => heard.topics.includes('resize') && heard.topics.includes('bill'));
      expect(heard.topics.sort()).toEqual(['bill', 'resize', 'send_email']);
    } finally {
      await stop();
    }
  });

  it('hears nothing of an insert that failed', async () => {
    const inserter = await fx.openAnother();
    const heard = new Heard();
    const stop = await heard.listen(fx.store);
    try {
      const taken = await inserter.jobInsert(jobParams({ topic: 'first' }));
      await expect(inserter.jobInsertMany([jobParams({ topic: 'never' }), jobParams({ id: taken.id })])).rejects.toThrow();
      await expect(inserter.jobInsert(jobParams({ id: taken.id, topic: 'never' }))).rejects.toThrow();
      await inserter.jobInsert(jobParams({ topic: 'last' }));
      // Notifications arrive in commit order: once `last` is heard, `never` would have been.
      await waitFor('onTopic last', () => heard.topics.includes('last'));
      expect(heard.topics).toEqual(['first', 'last']);
    } finally {
      await stop();
    }
  });
});
