/// <reference lib="dom" />
/**
 * Entry point of the investigation console (loaded by index.html as a module): hash routing
 * between the views, the navigation state, and the token dialog the API client opens on a 401.
 */
import { currentToken, forgetToken, onTokenChange, setTokenPrompt } from './api.client.js';
import { evidenceView } from './evidence.view.js';
import { findingView, findingsView } from './findings.view.js';
import { flowsView } from './flows.view.js';
import { graphView } from './graph.view.js';
import { requestView } from './request.view.js';
import { announce, errorBox, type View } from './view.js';

const ROUTES: Record<string, View> = {
  graph: graphView,
  findings: findingsView,
  finding: findingView,
  flows: flowsView,
  request: requestView,
  evidence: evidenceView,
};
/** Which navigation entry a route belongs to. */
const NAV_OF: Record<string, string> = { finding: 'findings' };

function byId<T extends HTMLElement>(id: string): T {
  const node = document.getElementById(id);
  if (!node) throw new Error(`console page is missing #${id}`);
  return node as T;
}

/** `#/request/abc?x=1` to its view name, path argument and query. */
function parseHash(hash: string): { name: string; arg: string | undefined; params: URLSearchParams } {
  const body = hash.replace(/^#\/?/, '');
  const [path = '', query = ''] = body.split(/\?(.*)/s, 2);
  const slash = path.indexOf('/');
  const name = slash === -1 ? path : path.slice(0, slash);
  let arg: string | undefined;
  if (slash !== -1) {
    try { arg = decodeURIComponent(path.slice(slash + 1)); } catch { arg = path.slice(slash + 1); }
  }
  return { name: name || 'graph', arg, params: new URLSearchParams(query) };
}

let first = true;

async function route(): Promise<void> {
  const { name, arg, params } = parseHash(location.hash);
  const view = ROUTES[name];
  const main = byId<HTMLElement>('view');
  main.removeAttribute('data-ready');
  const root = document.createElement('section');
  root.className = `view view-${name}`;
  main.replaceChildren(root);
  const active = NAV_OF[name] ?? name;
  document.querySelectorAll<HTMLAnchorElement>('nav.primary a').forEach((a) => {
    if (a.dataset.view === active) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  });
  document.title = `${name[0]?.toUpperCase() ?? ''}${name.slice(1)} · meshtrail`;
  if (!view) {
    root.appendChild(errorBox(`There is no "${name}" view.`));
    return;
  }
  try {
    await view({ root, params, arg });
  } catch (err) {
    root.appendChild(errorBox(err instanceof Error ? err.message : String(err)));
    announce('The view failed to render.', 'error');
  }
  // Move focus to the new view's heading so keyboard and screen-reader users land on it.
  if (!first && root.isConnected) root.querySelector<HTMLElement>('h1')?.focus();
  first = false;
  main.setAttribute('data-ready', name);
}

function installTokenDialog(): void {
  const dialog = byId<HTMLDialogElement>('token-dialog');
  const form = byId<HTMLFormElement>('token-form');
  const input = byId<HTMLInputElement>('token-input');
  const reason = byId<HTMLElement>('token-reason');
  const cancel = byId<HTMLButtonElement>('token-cancel');
  setTokenPrompt((why) => new Promise<string>((resolve, reject) => {
    reason.textContent = why;
    input.value = '';
    const done = () => {
      form.removeEventListener('submit', onSubmit);
      cancel.removeEventListener('click', onCancel);
      dialog.removeEventListener('cancel', onCancel);
      dialog.close();
    };
    const onSubmit = (ev: Event) => {
      ev.preventDefault();
      const token = input.value.trim();
      if (!token) { input.focus(); return; }
      done();
      resolve(token);
    };
    const onCancel = (ev: Event) => {
      ev.preventDefault();
      done();
      reject(new Error('cancelled'));
    };
    form.addEventListener('submit', onSubmit);
    cancel.addEventListener('click', onCancel);
    dialog.addEventListener('cancel', onCancel);
    dialog.showModal();
    input.focus();
  }));

  const state = byId<HTMLElement>('token-state');
  const forget = byId<HTMLButtonElement>('token-forget');
  const refresh = () => {
    const has = currentToken() !== null;
    state.textContent = has ? 'Token set for this tab' : 'No token';
    forget.hidden = !has;
  };
  forget.addEventListener('click', () => { forgetToken(); announce('Token forgotten.'); });
  onTokenChange(refresh);
  refresh();
}

installTokenDialog();
window.addEventListener('hashchange', () => void route());
void route();
