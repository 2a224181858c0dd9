// The search page: plain browser JavaScript served as is, so there is nothing to build.
/* global document, fetch, performance, location, history, URLSearchParams, Option */

const STOPWORDS = new Set(
  'a all an and are as at be by can did do does for from has have here how in is it of on or that the there this to was what when where which who why with'.split(' '),
);

const form = document.getElementById('search-form');
const input = document.getElementById('query');
const modeSelect = document.getElementById('mode');
const kSelect = document.getElementById('k');
const button = document.getElementById('go');
const rerankLabel = document.getElementById('rerank-label');
const rerankBox = document.getElementById('rerank');
const filtersBox = document.getElementById('filters');
const filterFields = document.getElementById('filter-fields');
const filterCount = document.getElementById('filter-count');
const status = document.getElementById('status');
const list = document.getElementById('results');
const info = document.getElementById('index-info');
const more = document.getElementById('more');
const MODES = ['vector', 'keyword', 'hybrid'];
/** The request on screen (without offset) and how many of its hits are shown, for the next page. */
let shown = { request: undefined, count: 0 };
let maxK = 100;
/** One entry per metadata field the server reports: its name, type and inputs, keyed as in the address. */
let controls = [];

/** Words of the query worth marking: no stopwords, no single letters; longest first so they win in the regex. */
export function queryTerms(query) {
  const words = query.toLowerCase().split(/[^\p{L}\p{N}]+/u).filter((w) => w.length > 1 && !STOPWORDS.has(w));
  return [...new Set(words)].sort((a, b) => b.length - a.length);
}

/** The passage as text nodes and <mark>s for words that start with a query term; never innerHTML. */
export function highlight(text, terms) {
  const frag = document.createDocumentFragment();
  if (terms.length === 0) {
    frag.append(text);
    return frag;
  }
  const escaped = terms.map((t) => t.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  const re = new RegExp(`(?<![\\p{L}\\p{N}])(?:${escaped.join('|')})`, 'giu');
  let last = 0;
  for (const m of text.matchAll(re)) {
    if (m.index > last) frag.append(text.slice(last, m.index));
    const mark = document.createElement('mark');
    mark.textContent = m[0];
    frag.append(mark);
    last = m.index + m[0].length;
  }
  if (last < text.length) frag.append(text.slice(last));
  return frag;
}

function setStatus(text, isError = false) {
  status.textContent = text;
  status.classList.toggle('error', isError);
}

/** An element with properties and children; text children become text nodes (never HTML). */
function el(tag, props = {}, ...children) {
  const e = document.createElement(tag);
  Object.assign(e, props);
  e.append(...children);
  return e;
}

/**
 * A filter control per metadata field, from the types /info reports, as the filter language takes them: a string
 * field one value (equality) or several separated by commas (in); a number field a range (gte, lte); a boolean
 * field any, true or false. Element ids are numbered, since a field's name may hold any character.
 */
function buildFilters(fields) {
  const rows = [];
  controls = Object.entries(fields).map(([name, type], i) => {
    const id = `f-${i}`;
    const row = el('div', { className: `filter filter-${type}` });
    row.dataset.field = name;
    rows.push(row);
    if (type === 'number') {
      const gte = el('input', { id: `${id}-gte`, type: 'number', step: 'any', placeholder: 'min', inputMode: 'decimal' });
      const lte = el('input', { id: `${id}-lte`, type: 'number', step: 'any', placeholder: 'max', inputMode: 'decimal' });
      gte.setAttribute('aria-label', `${name} at least`);
      lte.setAttribute('aria-label', `${name} at most`);
      row.append(el('span', { className: 'name' }, name), el('span', { className: 'range' }, gte, el('span', { className: 'to' }, 'to'), lte));
      return { name, type, inputs: { [`f.${name}.gte`]: gte, [`f.${name}.lte`]: lte } };
    }
    const control =
      type === 'boolean'
        ? el('select', { id }, new Option('any', ''), new Option('true', 'true'), new Option('false', 'false'))
        : el('input', { id, type: 'text', placeholder: 'a value, or several: a, b' });
    row.append(el('label', { className: 'name', htmlFor: id }, name), control);
    return { name, type, inputs: { [`f.${name}`]: control } };
  });
  filterFields.replaceChildren(...rows);
  filtersBox.hidden = controls.length === 0;
  for (const c of controls) for (const e of Object.values(c.inputs)) e.addEventListener(e.tagName === 'SELECT' ? 'change' : 'input', countFilters);
}

/** The filter the controls describe, in the server's filter language; undefined when none is set. */
function readFilter() {
  const filter = {};
  for (const { name, type, inputs } of controls) {
    const [first, second] = Object.values(inputs);
    if (type === 'number') {
      const cond = {};
      if (first.value !== '') cond.gte = Number(first.value);
      if (second.value !== '') cond.lte = Number(second.value);
      if (Object.keys(cond).length > 0) filter[name] = cond;
    } else if (type === 'boolean') {
      if (first.value !== '') filter[name] = first.value === 'true';
    } else {
      const values = first.value.split(',').map((v) => v.trim()).filter((v) => v !== '');
      if (values.length === 1) filter[name] = values[0];
      else if (values.length > 1) filter[name] = { in: values };
    }
  }
  return Object.keys(filter).length > 0 ? filter : undefined;
}

function countFilters() {
  const n = Object.keys(readFilter() ?? {}).length;
  filterCount.textContent = n > 0 ? `(${n} set)` : '';
}

/** The /search request the form describes: only what differs from the server's defaults besides query and k. */
function requestFromForm() {
  const request = { query: input.value.trim(), k: Number(kSelect.value) };
  if (modeSelect.value !== 'vector') request.mode = modeSelect.value;
  const filter = readFilter();
  if (filter !== undefined) request.filter = filter;
  if (!rerankLabel.hidden && rerankBox.checked) request.rerank = true;
  return request;
}

/** The form's state as an address (?q=…&k=…&mode=…&rerank=1&f.<field>=…), so a search can be shared as a link. */
function addressOf() {
  const p = new URLSearchParams({ q: input.value.trim(), k: kSelect.value });
  if (modeSelect.value !== 'vector') p.set('mode', modeSelect.value);
  if (!rerankLabel.hidden && rerankBox.checked) p.set('rerank', '1');
  for (const c of controls) for (const [key, e] of Object.entries(c.inputs)) if (e.value.trim() !== '') p.set(key, e.value.trim());
  return `?${p}`;
}

/** The address's state into the form; the caller submits it. */
function applyAddress(params) {
  input.value = params.get('q') ?? '';
  // A k from the address that the menu lacks joins it, so the request says what the address says (the server
  // answers a k over its limit with a clear error) instead of an empty selection read as 0.
  const k = Number(params.get('k'));
  if (Number.isInteger(k) && k >= 1) {
    if (![...kSelect.options].some((o) => o.value === String(k))) kSelect.add(new Option(String(k)));
    kSelect.value = String(k);
  }
  if (MODES.includes(params.get('mode'))) modeSelect.value = params.get('mode');
  rerankBox.checked = params.get('rerank') === '1';
  let any = false;
  for (const c of controls) {
    for (const [key, e] of Object.entries(c.inputs)) {
      const v = params.get(key);
      if (v === null) continue;
      e.value = v;
      any = true;
    }
  }
  if (any) filtersBox.open = true;
  countFilters();
}

function render(query, hits, append = false) {
  const terms = queryTerms(query);
  const items = hits.map((h) => {
    const meta = el('div', { className: 'meta' }, el('span', { className: 'score' }, h.score.toFixed(4)), el('span', { className: 'id' }, `${h.chunk !== undefined ? 'document' : 'passage'} ${h.id}`));
    if (h.retrieval_score !== undefined) meta.append(el('span', { className: 'retrieval', title: "the index's score before re-ranking" }, `retrieval ${h.retrieval_score.toFixed(4)}`));
    // A chunked index answers with the document's best window: say which, and mark the text as that window.
    if (h.chunk !== undefined) meta.append(el('span', { className: 'chunk', title: `characters ${h.chunk.start}–${h.chunk.end} of the document; this window scores ${h.chunk.score.toFixed(4)}` }, `best window ${h.chunk.number + 1}`));
    const text = el('p', { className: h.chunk !== undefined ? 'text window' : 'text' }, highlight(h.text, terms));
    const li = el('li', { className: 'result' }, meta, text);
    const entries = Object.entries(h.metadata ?? {});
    if (entries.length > 0) {
      const fields = el('ul', { className: 'fields' });
      fields.setAttribute('aria-label', 'metadata');
      for (const [name, value] of entries) fields.append(el('li', {}, el('span', { className: 'name' }, name), el('span', { className: 'value' }, String(value))));
      li.append(fields);
    }
    return li;
  });
  if (append) list.append(...items);
  else list.replaceChildren(...items);
}

async function search(request, offset = 0) {
  button.disabled = true;
  more.hidden = true;
  setStatus('searching…');
  document.body.dataset.state = 'searching';
  const t0 = performance.now();
  try {
    const res = await fetch('/search', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(offset > 0 ? { ...request, offset } : request),
    });
    const body = await res.json();
    const ms = performance.now() - t0;
    if (!res.ok) {
      list.replaceChildren();
      setStatus(`${body.error?.code ?? res.status}: ${body.error?.message ?? res.statusText}`, true);
      document.body.dataset.state = 'error';
      return;
    }
    const result = body.results[0];
    render(request.query, result.hits, offset > 0);
    shown = { request, count: offset + result.hits.length };
    // A full page may have a next one; the server returns at most maxK hits in all (offset + k).
    more.hidden = result.hits.length < request.k || shown.count + request.k > maxK;
    const cut = result.truncated ? ` · the query was longer than the model reads (${result.tokens} tokens) and was truncated` : '';
    const reranked = body.reranked !== undefined ? ` · re-ranked by ${body.reranked.model}` : '';
    const range = offset > 0 ? `results ${offset + 1}–${shown.count}` : `${result.hits.length} results`;
    setStatus(`${range} in ${ms.toFixed(1)} ms (server ${body.took_ms.toFixed(1)} ms)${reranked}${cut}`);
    document.body.dataset.state = 'done';
  } catch (e) {
    setStatus(`the server could not be reached: ${e.message}`, true);
    document.body.dataset.state = 'error';
  } finally {
    button.disabled = false;
  }
}

form.addEventListener('submit', (ev) => {
  ev.preventDefault();
  const request = requestFromForm();
  if (request.query === '') return;
  history.replaceState(null, '', addressOf());
  void search(request);
});

more.addEventListener('click', () => void search(shown.request, shown.count));

document.getElementById('clear-filters').addEventListener('click', () => {
  for (const c of controls) for (const e of Object.values(c.inputs)) e.value = '';
  countFilters();
});

/** What the server serves: the index line, the placeholder, the filters and the re-rank toggle it allows. */
function applyInfo(i) {
  maxK = i.limits?.maxK ?? maxK;
  info.textContent = `${i.count.toLocaleString()} passages · ${i.model.split('/').pop()} · ${i.precision}, ${i.dim} dims`;
  // An example from the index itself: the opening words of one of its passages.
  if (typeof i.sample === 'string' && i.sample !== '') input.placeholder = `e.g. ${i.sample}…`;
  buildFilters(i.fields ?? {});
  if (i.crossEncoder !== undefined) {
    document.getElementById('rerank-model').textContent = i.crossEncoder.model.split('/').pop();
    rerankLabel.hidden = false;
  }
}

/** /info, asked again while the server is still loading (503), so the controls appear once it is ready. */
async function loadInfo() {
  for (;;) {
    try {
      const r = await fetch('/info');
      if (r.ok) return applyInfo(await r.json());
      info.textContent = r.status === 503 ? 'the index is still loading' : `the index could not be described: HTTP ${r.status}`;
    } catch (e) {
      info.textContent = `the index could not be described: ${e.message}`;
    }
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}

await loadInfo();
document.body.dataset.info = 'loaded';
const params = new URLSearchParams(location.search);
applyAddress(params);
if (params.get('q')) form.requestSubmit();
