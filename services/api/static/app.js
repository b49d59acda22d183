// The search page: calls POST /query and shows the passages. Note text is untrusted (notes can hold
// HTML), so it only ever enters the page as text nodes (textContent, append(string)); the page's
// Content-Security-Policy also enforces Trusted Types, so markup assigned as a string would throw.
"use strict";

(() => {
  const KEY_STORAGE = "semsearch.apiKey";
  const DEBOUNCE_MS = 300;
  const MIN_CHARS = 3; // while typing; Enter searches any non-empty query
  const STOPWORDS = new Set(("the and are was were for with what which who whom how why when where does did " +
    "this that these those from into about can could should would will has have had not you your our " +
    "its their there then than but use using").split(" "));
  const WORD = /[\p{L}\p{N}_]+/gu;

  const $ = (id) => document.getElementById(id);
  const form = $("search");
  const box = $("q");
  const statusLine = $("status");
  const errorBox = $("error");
  const nothing = $("nothing");
  const list = $("results");
  const weak = $("weak");
  const weakList = $("weak-results");
  const keyForm = $("key-form");
  const keyInput = $("key");
  const keyError = $("key-error");

  let timer = 0;
  let seq = 0;
  let inFlight = null;
  let shownQuery = null;

  function storedKey() {
    try { return sessionStorage.getItem(KEY_STORAGE); } catch { return null; }
  }

  function storeKey(key) {
    try {
      if (key) sessionStorage.setItem(KEY_STORAGE, key); else sessionStorage.removeItem(KEY_STORAGE);
    } catch { /* storage disabled: the key lives until the page is left */ }
  }

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function queryTerms(query) {
    const words = query.toLowerCase().match(WORD) || [];
    return new Set(words.filter((w) => w.length >= 3 && !STOPWORDS.has(w)));
  }

  // Passage text for reading, as `ask` prints it: markdown bold markers and backslash escapes
  // dropped (links kept). The result is still only ever inserted as text.
  function readable(text) {
    return text.replace(/\*\*|__/g, "").replace(/\\([\\`*_{}[\]()#+\-.!|>~])/g, "$1");
  }

  // `text` as text nodes, with each whole word found in `terms` wrapped in <mark>.
  function highlighted(text, terms) {
    const fragment = document.createDocumentFragment();
    let last = 0;
    for (const match of text.matchAll(WORD)) {
      if (!terms.has(match[0].toLowerCase())) continue;
      fragment.append(text.slice(last, match.index), el("mark", "", match[0]));
      last = match.index + match[0].length;
    }
    fragment.append(text.slice(last));
    return fragment;
  }

  function safeUrl(url) {
    if (!url) return null;
    try {
      const parsed = new URL(url, location.href);
      return parsed.protocol === "https:" || parsed.protocol === "http:" ? parsed.href : null;
    } catch { return null; }
  }

  function resultItem(result, terms) {
    const item = el("li", "result");
    item.tabIndex = 0;
    const meta = el("div", "meta");
    meta.append(el("span", "rank", `${result.rank}.`));
    const url = safeUrl(result.url);
    const source = el(url ? "a" : "span", "source", result.source);
    if (url) {
      source.href = url;
      source.rel = "noopener noreferrer";
      source.title = "Open the source";
    }
    const place = result.location || `lines ${result.start_line}–${result.end_line}`;  // p.3 lines 4-12, cell 7
    meta.append(source, el("span", "lines", place),
      el("span", "score", `score ${Number(result.score).toFixed(2)}`));
    item.append(meta);
    if (result.heading_path && result.heading_path.length) {
      item.append(el("div", "heading", result.heading_path.join(" › ")));
    }
    const labels = el("div", "labels");
    if (result.collection) labels.append(el("span", "collection", result.collection));
    for (const tag of result.tags || []) labels.append(el("span", "tag", `#${tag}`));
    if (labels.childNodes.length) item.append(labels);
    const passage = el("div", "passage");
    passage.append(highlighted(readable(result.text.trim()), terms));
    item.append(passage);
    if (result.also_in && result.also_in.length) {
      item.append(el("div", "also", `also in: ${result.also_in.join(", ")}`));
    }
    return item;
  }

  function reset() {
    errorBox.hidden = true;
    nothing.hidden = true;
    weak.hidden = true;
    weak.open = false;
    list.replaceChildren();
    weakList.replaceChildren();
  }

  function showError(message) {
    reset();
    statusLine.textContent = "";
    errorBox.textContent = message;
    errorBox.hidden = false;
  }

  // Whether anything answers is the server's decision (`abstained`), shown as it is: when it
  // abstained, every passage is a weak match behind the details element; otherwise the confident
  // passages are the answer and the weaker ones wait behind it.
  function render(body) {
    reset();
    const terms = queryTerms(body.query);
    const results = body.results || [];
    const abstained = body.abstained === true;
    const sure = abstained ? [] : results.filter((r) => r.confident !== false);
    const unsure = abstained ? results : results.filter((r) => r.confident === false);
    list.append(...sure.map((r) => resultItem(r, terms)));
    nothing.hidden = !abstained;
    if (unsure.length) {
      weakList.append(...unsure.map((r) => resultItem(r, terms)));
      weak.querySelector("summary").textContent = abstained
        ? `Show ${unsure.length} weak ${unsure.length === 1 ? "match" : "matches"} anyway`
        : `${unsure.length} weaker ${unsure.length === 1 ? "match" : "matches"}`;
      weak.hidden = false;
    }
    const count = sure.length === 1 ? "1 passage" : `${sure.length} passages`;
    const ms = Math.round(body.timings_ms ? body.timings_ms.total : 0);
    const readAs = body.searched_as && body.searched_as !== body.query ? ` · searched as “${body.searched_as}”` : "";
    statusLine.textContent = `${count} · ${ms} ms · build ${body.index ? body.index.build_id : "?"}${readAs}`;
    shownQuery = body.query;
  }

  function askForKey(message) {
    keyError.textContent = message || "";
    keyError.hidden = !message;
    keyForm.hidden = false;
    statusLine.textContent = "";
    keyInput.focus();
  }

  async function search(raw) {
    const query = raw.trim();
    window.clearTimeout(timer);
    if (!query) return;
    if (inFlight) inFlight.abort();
    const controller = new AbortController();
    inFlight = controller;
    const mine = ++seq;
    history.replaceState(null, "", `?q=${encodeURIComponent(query)}`);
    document.body.classList.add("busy");
    statusLine.textContent = "Searching…";
    const headers = { "Content-Type": "application/json" };
    const key = storedKey();
    if (key) headers["X-API-Key"] = key;
    let response;
    let body = null;
    try {
      response = await fetch("/query", {
        // syntax: the server reads `in:work #tag path:ops/* since:2025-01` typed into the box
        method: "POST", headers, body: JSON.stringify({ query, syntax: true }), signal: controller.signal,
      });
      body = await response.json().catch(() => null);
    } catch (err) {
      if (mine === seq) {
        document.body.classList.remove("busy");
        if (err.name !== "AbortError") showError("The search service could not be reached; is it running?");
      }
      return;
    }
    if (mine !== seq) return;
    document.body.classList.remove("busy");
    inFlight = null;
    const message = body && body.error ? body.error.message : null;
    if (response.status === 401) {
      storeKey(null);
      askForKey(key ? "That API key was refused; enter another." : "");
      return;
    }
    if (!response.ok) {
      showError(message || `The search failed (HTTP ${response.status}).`);
      return;
    }
    render(body);
  }

  function visibleResults() {
    return [...document.querySelectorAll("#results > li, #weak[open] li")];
  }

  function onKeydown(event) {
    const target = event.target;
    const inField = target instanceof HTMLInputElement || target instanceof HTMLTextAreaElement;
    if (event.key === "/" && !inField && !event.ctrlKey && !event.metaKey && !event.altKey) {
      event.preventDefault();
      box.focus();
      box.select();
      return;
    }
    if (event.key !== "ArrowDown" && event.key !== "ArrowUp" && event.key !== "Escape" && event.key !== "Enter") {
      return;
    }
    const items = visibleResults();
    const at = items.indexOf(target.closest ? target.closest("li.result") : null);
    if (target === box && event.key === "ArrowDown" && items.length) {
      event.preventDefault();
      items[0].focus();
    } else if (at >= 0 && event.key === "ArrowDown") {
      event.preventDefault();
      items[Math.min(at + 1, items.length - 1)].focus();
    } else if (at >= 0 && event.key === "ArrowUp") {
      event.preventDefault();
      if (at === 0) box.focus(); else items[at - 1].focus();
    } else if (at >= 0 && event.key === "Escape") {
      box.focus();
    } else if (at >= 0 && event.key === "Enter" && target === items[at]) {
      const link = items[at].querySelector("a.source");
      if (link) link.click();
    }
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    search(box.value);
  });
  box.addEventListener("input", () => {
    window.clearTimeout(timer);
    const query = box.value.trim();
    if (query.length < MIN_CHARS || query === shownQuery) return;
    timer = window.setTimeout(() => search(query), DEBOUNCE_MS);
  });
  keyForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const key = keyInput.value.trim();
    if (!key) return;
    storeKey(key);
    keyInput.value = "";
    keyForm.hidden = true;
    box.focus();
    search(box.value);
  });
  document.addEventListener("keydown", onKeydown);

  const initial = new URLSearchParams(location.search).get("q");  // the box has `autofocus`
  if (initial) {
    box.value = initial;
    search(initial);
  }
})();
