import { rawQuery, type Store } from '@jobbase/server/testing';

/**
 * Takes a database back to before issue 18's operations migration: the change feed's triggers
 * (and SQLite's table) dropped, `trace_context` dropped, the record deleted. Its name.
 */
export async function undoOperations(store: Store): Promise<string> {
  const sql = (text: string) => rawQuery(store, text);
  if (store.dialect === 'postgres') {
    for (const t of ['insert', 'update', 'delete']) await sql(`drop trigger jobs_change_${t} on jobs`);
    await sql('drop function jobbase_notify_changes()');
  } else {
    for (const t of ['insert', 'update', 'progress', 'delete']) await sql(`drop trigger jobs_change_${t}`);
    await sql('drop trigger job_changes_bound');
    await sql('drop table job_changes');
  }
  await sql('alter table jobs drop column trace_context');
  const name = store.dialect === 'postgres' ? '0011_operations' : '0008_operations';
  await sql(`delete from jb_migrations where name = '${name}'`);
  return name;
}
