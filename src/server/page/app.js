// The search page: plain browser JavaScript served as is, so there is nothing to build.
/* global document, fetch, performance, location, history, URLSearchParams, Option */

const STOPWORDS = new Set(
  'a all an and are as at be by can did do does for from has have here how in is it of on or that the there this to was what when where which who why with'.split(' '),
);

const form = document.getElementById('search-form');
const input = document.getElementById('query');
const kSelect = document.getElementById('k');
const button = document.getElementById('go');
const status = document.getElementById('status');
const list = document.getElementById('results');
const info = document.getElementById('index-info');
const more = document.getElementById('more');
/** The query on screen and how many of its hits are shown, for the next page. */
let shown = { query: '', k: 10, count: 0 };

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

function render(query, hits, append = false) {
  const terms = queryTerms(query);
  const items = hits.map((h) => {
      const li = document.createElement('li');
      li.className = 'result';
      const meta = document.createElement('div');
      meta.className = 'meta';
      const score = document.createElement('span');
      score.className = 'score';
      score.textContent = h.score.toFixed(4);
      const id = document.createElement('span');
      id.className = 'id';
      id.textContent = `passage ${h.id}`;
      meta.append(score, id);
      const p = document.createElement('p');
      p.className = 'text';
      p.append(highlight(h.text, terms));
      li.append(meta, p);
      return li;
    });
  if (append) list.append(...items);
  else list.replaceChildren(...items);
}

async function search(query, k, offset = 0) {
  button.disabled = true;
  more.hidden = true;
  setStatus('searching…');
  const t0 = performance.now();
  try {
    const res = await fetch('/search', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(offset > 0 ? { query, k, offset } : { query, k }),
    });
    const body = await res.json();
    const ms = performance.now() - t0;
    if (!res.ok) {
      list.replaceChildren();
      setStatus(`${body.error?.code ?? res.status}: ${body.error?.message ?? res.statusText}`, true);
      return;
    }
    const result = body.results[0];
    render(query, result.hits, offset > 0);
    shown = { query, k, count: offset + result.hits.length };
    // A full page may have a next one; the server returns at most maxK hits in all (offset + k).
    more.hidden = result.hits.length < k || shown.count + k > maxK;
    const cut = result.truncated ? ` · the query was longer than the model reads (${result.tokens} tokens) and was truncated` : '';
    const range = offset > 0 ? `results ${offset + 1}–${shown.count}` : `${result.hits.length} results`;
    setStatus(`${range} in ${ms.toFixed(1)} ms (server ${body.took_ms.toFixed(1)} ms)${cut}`);
    document.body.dataset.state = 'done';
  } catch (e) {
    setStatus(`the server could not be reached: ${e.message}`, true);
  } finally {
    button.disabled = false;
  }
}

form.addEventListener('submit', (ev) => {
  ev.preventDefault();
  const query = input.value.trim();
  if (query === '') return;
  const k = Number(kSelect.value);
  history.replaceState(null, '', `?${new URLSearchParams({ q: query, k: String(k) })}`);
  void search(query, k);
});

more.addEventListener('click', () => void search(shown.query, shown.k, shown.count));

let maxK = 100;
fetch('/info')
  .then((r) => (r.ok ? r.json() : Promise.reject(new Error(`HTTP ${r.status}`))))
  .then((i) => {
    maxK = i.limits?.maxK ?? maxK;
    info.textContent = `${i.count.toLocaleString()} passages · ${i.model.split('/').pop()} · ${i.precision}, ${i.dim} dims`;
  })
  .catch(() => {
    info.textContent = 'the index is still loading';
  });

const params = new URLSearchParams(location.search);
if (params.get('q')) {
  input.value = params.get('q');
  // A k from the address that the menu lacks joins it, so the request says what the address says (the server
  // answers a k over its limit with a clear error) instead of an empty selection read as 0.
  const k = Number(params.get('k'));
  if (Number.isInteger(k) && k >= 1) {
    if (![...kSelect.options].some((o) => o.value === String(k))) kSelect.add(new Option(String(k)));
    kSelect.value = String(k);
  }
  form.requestSubmit();
}
