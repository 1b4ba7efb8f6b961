/// <reference lib="dom" />
/**
 * DOM helpers of the console. Every value that came from the API is attacker-controlled log
 * data, so these helpers only ever set `textContent` and attributes: there is no path from data
 * to `innerHTML`.
 */

/** A child accepted by {@link el}: nodes as they are, text as text nodes, nullish skipped. */
export type Child = Node | string | number | null | undefined | false;

/** Attributes of {@link el}: strings set as attributes, booleans toggle them, `on*` functions listen. */
export type Attrs = Record<string, string | number | boolean | null | undefined | EventListener>;

function apply(node: Element, attrs: Attrs): void {
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (typeof value === 'function') node.addEventListener(name.replace(/^on/, ''), value);
    else node.setAttribute(name, value === true ? '' : String(value));
  }
}

function append(node: Node, children: Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    node.appendChild(typeof c === 'string' || typeof c === 'number' ? document.createTextNode(String(c)) : c);
  }
}

/** Creates an HTML element with attributes and children (text children become text nodes). */
export function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  apply(node, attrs);
  append(node, children);
  return node;
}

const SVG_NS = 'http://www.w3.org/2000/svg';

/** Creates an SVG element with attributes and children. */
export function svg<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: Child[]): SVGElementTagNameMap[K] {
  const node = document.createElementNS(SVG_NS, tag);
  apply(node, attrs);
  append(node, children);
  return node;
}

/** Replaces every child of `node`. */
export function replace(node: Element, ...children: Child[]): void {
  node.replaceChildren();
  append(node, children);
}

/** Text for a nullable API value: an em dash for null, so "no value" never reads as empty text. */
export function show(v: unknown): string {
  if (v === null || v === undefined || v === '') return '—';
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

/** A labelled form control wrapped with its label (the label's `for` names the control). */
export function field(label: string, control: HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement, hint?: string): HTMLElement {
  const hintEl = hint ? el('small', { id: `${control.id}-hint`, class: 'hint' }, hint) : null;
  if (hintEl) control.setAttribute('aria-describedby', hintEl.id);
  return el('div', { class: 'field' }, el('label', { for: control.id }, label), control, hintEl);
}

/** A `<select>` with the given options (value, label); `value` is preselected. */
export function select(id: string, name: string, options: readonly (readonly [string, string])[], value: string): HTMLSelectElement {
  const s = el('select', { id, name });
  for (const [v, label] of options) s.appendChild(el('option', { value: v, selected: v === value }, label));
  return s;
}

/** Starts a download of `blob` as `filename` (the console's way to hand over authenticated exports). */
export function download(blob: Blob, filename: string): void {
  const url = URL.createObjectURL(blob);
  const a = el('a', { href: url, download: filename, hidden: true });
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** A definition list of label/value pairs (values shown with {@link show}). */
export function facts(pairs: readonly (readonly [string, unknown])[]): HTMLDListElement {
  const dl = el('dl', { class: 'facts' });
  for (const [k, v] of pairs) dl.append(el('dt', {}, k), el('dd', {}, v instanceof Node ? v : show(v)));
  return dl;
}
