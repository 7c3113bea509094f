const KEY = 'jobbase.admin.token';

/** The superuser token lives for the browser tab's session only. */
export const session = {
  load(): string | null {
    return sessionStorage.getItem(KEY);
  },
  save(token: string): void {
    sessionStorage.setItem(KEY, token);
  },
  clear(): void {
    sessionStorage.removeItem(KEY);
  },
};
