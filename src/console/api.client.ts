/// <reference lib="dom" />
/**
 * The console's only way to talk to meshtrail: same-origin fetches to /api/v1 with the bearer
 * token the user typed, kept in `sessionStorage` (gone when the tab closes). A 401 opens the
 * token dialog once -- concurrent requests that hit the same 401 wait for that one prompt --
 * and the request is retried with the new token. Errors carry the API's problem+json text so
 * the views can show the server's own reason (e.g. "this token may not do that").
 */

const TOKEN_KEY = 'meshtrail.console.token';

/** An API answer other than 2xx, with the problem+json details when the server sent them. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly title: string,
    readonly detail: string,
    readonly parameters: readonly { parameter: string; message: string }[] = [],
  ) {
    super(`${status} ${title}${detail ? `: ${detail}` : ''}${parameters.length ? ` (${parameters.map((p) => `${p.parameter} ${p.message}`).join('; ')})` : ''}`);
  }
}

/** Asks the user for a token; resolves with it, or rejects when they cancel. */
export type TokenPrompt = (reason: string) => Promise<string>;

let prompt: TokenPrompt = () => Promise.reject(new Error('no token prompt installed'));
let pending: Promise<string> | null = null;
const listeners = new Set<() => void>();

/** Installs the dialog that {@link request} opens on a 401. */
export function setTokenPrompt(p: TokenPrompt): void {
  prompt = p;
}

/** The stored token, if any. */
export function currentToken(): string | null {
  return sessionStorage.getItem(TOKEN_KEY);
}

/** Forgets the stored token (the next 401 asks again). */
export function forgetToken(): void {
  sessionStorage.removeItem(TOKEN_KEY);
  for (const l of listeners) l();
}

/** Calls `l` whenever the stored token changes. */
export function onTokenChange(l: () => void): void {
  listeners.add(l);
}

async function askOnce(reason: string): Promise<string> {
  // One dialog for every request that failed with the same token.
  pending ??= prompt(reason).finally(() => { pending = null; });
  const token = await pending;
  sessionStorage.setItem(TOKEN_KEY, token);
  for (const l of listeners) l();
  return token;
}

async function problemOf(res: Response): Promise<ApiError> {
  let title = res.statusText || 'Error';
  let detail = '';
  let parameters: { parameter: string; message: string }[] = [];
  try {
    const body = (await res.json()) as { title?: unknown; detail?: unknown; errors?: unknown };
    if (typeof body.title === 'string') title = body.title;
    if (typeof body.detail === 'string') detail = body.detail;
    if (Array.isArray(body.errors)) {
      parameters = body.errors.filter((e): e is { parameter: string; message: string } =>
        typeof e === 'object' && e !== null && typeof (e as { parameter?: unknown }).parameter === 'string' && typeof (e as { message?: unknown }).message === 'string');
    }
  } catch {
    // Not problem+json: the status line is all there is.
  }
  return new ApiError(res.status, title, detail, parameters);
}

/**
 * Fetches `path` (same origin) with the stored token; on 401 asks for a token and retries.
 * Resolves with any non-401 response; the caller decides what a 404 means.
 */
export async function request(path: string, init: RequestInit = {}): Promise<Response> {
  for (let attempt = 0; ; attempt++) {
    const sent = currentToken();
    const headers = new Headers(init.headers);
    if (sent !== null) headers.set('Authorization', `Bearer ${sent}`);
    const res = await fetch(path, { ...init, headers, credentials: 'same-origin', cache: 'no-store' });
    if (res.status !== 401) return res;
    if (attempt >= 4) throw await problemOf(res);
    // Another request may already have stored a fresh token while this one was in flight.
    if (currentToken() !== sent && currentToken() !== null) continue;
    try {
      await askOnce(sent === null ? 'This meshtrail API needs a bearer token.' : 'That token was not accepted. Enter a valid token.');
    } catch {
      throw new ApiError(401, 'Unauthorized', 'a bearer token is needed and none was given');
    }
  }
}

/** Builds `/api/v1/<path>?<params>`, leaving out empty parameters. */
export function apiUrl(path: string, params: Record<string, string | number | null | undefined> = {}): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== null && v !== undefined && v !== '') q.set(k, String(v));
  const s = q.toString();
  return `/api/v1/${path}${s ? `?${s}` : ''}`;
}

/** GETs JSON; non-2xx answers reject with an {@link ApiError}. */
export async function getJson<T>(url: string): Promise<T> {
  const res = await request(url, { headers: { Accept: 'application/json' } });
  if (!res.ok) throw await problemOf(res);
  return (await res.json()) as T;
}

/** GETs a body as text (kept byte for byte, e.g. a signed report to download). */
export async function getText(url: string, accept = 'application/json'): Promise<string> {
  const res = await request(url, { headers: { Accept: accept } });
  if (!res.ok) throw await problemOf(res);
  return res.text();
}

/** GETs a body as a Blob (exports). */
export async function getBlob(url: string): Promise<Blob> {
  const res = await request(url);
  if (!res.ok) throw await problemOf(res);
  return res.blob();
}

/** PATCHes a JSON body; resolves with the JSON answer. */
export async function patchJson<T>(url: string, body: unknown): Promise<T> {
  const res = await request(url, { method: 'PATCH', headers: { 'Content-Type': 'application/json', Accept: 'application/json' }, body: JSON.stringify(body) });
  if (!res.ok) throw await problemOf(res);
  return (await res.json()) as T;
}

/** A readable message for any error a view catches. */
export function messageOf(err: unknown): string {
  if (err instanceof ApiError) return `The API answered ${err.message}`;
  if (err instanceof Error) return err.message;
  return String(err);
}
