// The sentence browser of errors.html and compare.html: filters, search and pages over the data embedded in
// the page (<script id="data">), drawn into #sentences. No network, no libraries.
// The data is gzip-compressed JSON in base64; the page is drawn once it is inflated, and then <body> gets
// data-ready="yes" (what the browser tests wait for).
async function inflate(element) {
  const bytes = Uint8Array.from(atob(element.textContent.trim()), (c) => c.charCodeAt(0));
  const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
  return JSON.parse(await new Response(stream).text());
}
inflate(document.getElementById("data")).then((DATA) => {
  "use strict";
  const $ = (id) => document.getElementById(id);
  // what the filters read, derived here rather than stored in the page
  for (const set of DATA.sets) {
    for (const s of set.sentences) {
      s.text = s.tokens.join(" ");
      const types = new Set(s.items.map((item) => item[1]));
      s.rows.forEach((r) => r[1].forEach((m) => types.add(m[2])));
      s.types = Array.from(types);
    }
  }
  const state = { set: 0, kind: DATA.default_kind, type: "", search: "", page: 0, size: DATA.page_size };

  function colour(type) {
    const types = DATA.sets[state.set].types;
    const i = Math.max(0, types.indexOf(type));
    return "hsl(" + Math.round((i * 360) / Math.max(1, types.length)) + ", 75%, 84%)";
  }
  function escape(text) {
    return text.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" }[c]));
  }
  // what a mark says after its tokens
  function label(row, m) {
    if (!m[3]) return m[2];
    if (m[3] === "wrong type") return row === "gold" ? m[2] + " → " + m[4] : m[2] + ", gold " + m[4];
    return m[2] + " " + m[3];
  }
  // one row of a sentence: its tokens, entities as marks [start, end, type, kind?, other type?]
  function drawRow(row, tokens, marks) {
    const opening = {};
    marks.forEach((m) => { opening[m[0]] = m; });
    const parts = [];
    for (let i = 0; i < tokens.length; ) {
      const m = opening[i];
      if (m) {
        const kind = m[3] ? " k-" + m[3].replace(/ /g, "-") : "";
        const title = m[3] ? m[3] + ": " + label(row, m) : m[2];
        parts.push('<span class="ent' + kind + '" data-type="' + escape(m[2]) + '" data-kind="' + escape(m[3] || "") +
          '" title="' + escape(title) + '" style="--c:' + colour(m[2]) + '">' +
          escape(tokens.slice(m[0], m[1]).join(" ")) + "<sup>" + escape(label(row, m)) + "</sup></span>");
        i = m[1];
      } else {
        parts.push(escape(tokens[i]));
        i += 1;
      }
    }
    return parts.join(" ");
  }
  function matches(item) {
    return (state.kind === "" || state.kind === "*" || item[0] === state.kind) && (state.type === "" || item[1] === state.type);
  }
  // the sentences the filters keep, with the number of their items (errors, differences) the filters keep
  function filtered() {
    const set = DATA.sets[state.set];
    const needle = state.search.toLowerCase();
    const kept = [];
    let items = 0;
    for (const s of set.sentences) {
      if (needle && s.text.toLowerCase().indexOf(needle) < 0) continue;
      const hits = s.items.filter(matches).length;
      if (state.kind === "*") {  // every sentence, with or without errors
        if (state.type && !s.types.includes(state.type)) continue;
      } else if (!hits) continue;
      kept.push(s);
      items += hits;
    }
    return { kept, items };
  }
  function draw() {
    const set = DATA.sets[state.set];
    const { kept, items } = filtered();
    const pages = Math.max(1, Math.ceil(kept.length / state.size));
    state.page = Math.min(state.page, pages - 1);
    const shown = kept.slice(state.page * state.size, (state.page + 1) * state.size);
    const count = $("count");
    count.dataset.items = items;
    count.dataset.sentences = kept.length;
    count.textContent = items + " " + DATA.item_name + " in " + kept.length + " sentences";
    $("page").textContent = "page " + (state.page + 1) + " of " + pages;
    $("previous").disabled = state.page === 0;
    $("next").disabled = state.page >= pages - 1;
    $("sentences").innerHTML = shown.map((s) =>
      '<div class="sentence" data-id="' + s.id + '"><div class="where">sentence ' + s.id + ' · <a href="' +
      escape(set.file) + '">' + escape(set.file) + "</a> lines " + s.lines[0] + "–" + s.lines[1] +
      (s.note ? " · " + escape(s.note) : "") + "</div>" +
      s.rows.map((r) => '<div class="row"><span class="who">' + escape(r[0]) + '</span><span class="tokens">' +
        drawRow(r[0], s.tokens, r[1]) + "</span></div>").join("") + "</div>").join("");
  }
  function fillSelect(select, values, first) {
    select.innerHTML = first.map((o) => '<option value="' + escape(o[0]) + '">' + escape(o[1]) + "</option>").join("") +
      values.map((v) => '<option value="' + escape(v) + '">' + escape(v) + "</option>").join("");
  }
  function chooseSet(index) {
    state.set = index;
    state.page = 0;
    const set = DATA.sets[index];
    fillSelect($("kind"), set.kinds, DATA.kind_options);
    $("kind").value = state.kind;
    fillSelect($("type"), set.types, [["", "all types"]]);
    state.type = "";
    document.querySelectorAll(".set-summary").forEach((el) => { el.hidden = el.dataset.set !== String(index); });
    draw();
  }
  $("set").innerHTML = DATA.sets.map((s, i) => '<option value="' + i + '">' + escape(s.name) + "</option>").join("");
  $("set").addEventListener("change", (e) => chooseSet(Number(e.target.value)));
  $("kind").addEventListener("change", (e) => { state.kind = e.target.value; state.page = 0; draw(); });
  $("type").addEventListener("change", (e) => { state.type = e.target.value; state.page = 0; draw(); });
  $("search").addEventListener("input", (e) => { state.search = e.target.value; state.page = 0; draw(); });
  $("size").addEventListener("change", (e) => { state.size = Number(e.target.value); state.page = 0; draw(); });
  $("previous").addEventListener("click", () => { state.page -= 1; draw(); });
  $("next").addEventListener("click", () => { state.page += 1; draw(); });
  $("size").value = String(state.size);
  chooseSet(0);
  document.body.dataset.ready = "yes";
}).catch((error) => {
  document.getElementById("sentences").textContent = "This page could not unpack its data: " + error +
    " (it needs a browser with DecompressionStream: Chrome 80, Firefox 113, Safari 16.4 or newer).";
  throw error;
});
