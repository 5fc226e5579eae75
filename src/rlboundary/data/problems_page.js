// problems.html: renders the inline JSON (#problems-data) as a sortable,
// filterable table whose rows expand into their samples. Written by
// rlboundary.problems_page; no library, nothing fetched. Model text is only
// ever set as textContent, never parsed as HTML.
(function () {
  "use strict";
  var D = JSON.parse(document.getElementById("problems-data").textContent);
  var P = D.problems;
  var state = { sort: null, dir: 1, coverage: "all", model: "all", level: "all", text: "" };
  var open = new Set(); // indices of expanded problems
  var table = document.getElementById("problems");
  var thead = table.tHead, tbody = table.tBodies[0];

  function el(tag, attrs, children) {
    var e = document.createElement(tag);
    if (attrs) for (var k in attrs) {
      if (k === "text") e.textContent = attrs[k];
      else if (k === "cls") e.className = attrs[k];
      else e.setAttribute(k, attrs[k]);
    }
    (children || []).forEach(function (c) { if (c) e.appendChild(typeof c === "string" ? document.createTextNode(c) : c); });
    return e;
  }
  function fmt(x, digits) { return x === null || x === undefined ? "–" : Number(x).toFixed(digits); }

  // --- columns: [label, value for sorting, cell text, css class, model index or -1]
  var hasLevel = P.some(function (p) { return p.lv !== null && p.lv !== ""; });
  var hasSubject = P.some(function (p) { return p.sj; });
  var hasCoverage = P.some(function (p) { return p.set; });
  var ks = Array.from(new Set(P.map(function (p) { return p.k; })));
  var kLabel = ks.length === 1 && ks[0] !== null ? "pass@" + ks[0] : "pass@k";
  function columns() {
    var cols = [];
    if (D.benchmarks.length > 1) cols.push(["benchmark", function (p) { return p.b; }, function (p) { return p.b; }, "", -1]);
    cols.push(["id", function (p) { return p.id; }, function (p) { return p.id; }, "id", -1]);
    if (hasLevel) cols.push(["level", function (p) { return p.lv; }, function (p) { return p.lv === null ? "" : String(p.lv); }, "", -1]);
    if (hasSubject) cols.push(["subject", function (p) { return p.sj; }, function (p) { return p.sj; }, "", -1]);
    cols.push(["gold", function (p) { return p.g; }, function (p) { return p.g; }, "gold", -1]);
    D.models.forEach(function (m, j) {
      if (state.model !== "all" && state.model !== m.name) return;
      cols.push([m.name + " c/n", function (p) { var x = p.m[j]; return x[0] ? x[1] / x[0] : null; },
        function (p) { var x = p.m[j]; return x[0] === null ? "–" : x[1] + "/" + x[0]; }, "num", j]);
      cols.push([m.name + " " + kLabel, function (p) { return p.m[j][2]; }, function (p) { return fmt(p.m[j][2], 3); }, "num", j]);
      if (D.organism) cols.push([m.name + " valid", function (p) { return p.m[j][3]; },
        function (p) { return p.m[j][3] === null ? "–" : Math.round(100 * p.m[j][3]) + " %"; }, "num", j]);
    });
    if (hasCoverage) cols.push(["coverage", function (p) { return p.set; }, function (p) { return p.set || ""; }, "set", -1]);
    return cols;
  }

  // --- controls
  function select(id, label, options) {
    var s = el("select", { id: id, "aria-label": label });
    options.forEach(function (o) { s.appendChild(el("option", { value: o[0], text: o[1] })); });
    return el("label", null, [label + " ", s]);
  }
  var controls = document.getElementById("controls");
  if (hasCoverage) controls.appendChild(select("f-coverage", "coverage",
    [["all", "all"]].concat(D.coverage.map(function (c) { return [c, c]; }))));
  controls.appendChild(select("f-model", "model",
    [["all", "all models"]].concat(D.models.map(function (m) { return [m.name, m.name + " (" + m.role + ")"]; }))));
  if (hasLevel) {
    var levels = Array.from(new Set(P.map(function (p) { return p.lv; }).filter(function (x) { return x !== null; })));
    levels.sort(function (a, b) { return compare(a, b); });
    controls.appendChild(select("f-level", "level", [["all", "all"]].concat(levels.map(function (l) { return [String(l), String(l)]; }))));
  }
  controls.appendChild(el("label", null, ["search ", el("input", { id: "f-text", type: "search", placeholder: "id, question, answer" })]));

  function compare(a, b) {
    if (a === null || a === undefined) return b === null || b === undefined ? 0 : 1;
    if (b === null || b === undefined) return -1;
    if (typeof a === "number" && typeof b === "number") return a - b;
    return String(a).localeCompare(String(b), undefined, { numeric: true });
  }

  function visible() {
    var q = state.text.toLowerCase();
    var out = [];
    P.forEach(function (p, i) {
      if (state.coverage !== "all" && p.set !== state.coverage) return;
      if (state.level !== "all" && String(p.lv) !== state.level) return;
      if (q && (p.id + "\n" + p.q + "\n" + p.g + "\n" + p.b).toLowerCase().indexOf(q) < 0) return;
      out.push(i);
    });
    if (state.sort !== null) {
      var key = columns().filter(function (c) { return c[0] === state.sort; })[0];
      if (key) out.sort(function (a, b) {
        var va = key[1](P[a]), vb = key[1](P[b]);
        // Missing values last in both directions.
        if (va === null || va === undefined || vb === null || vb === undefined) return compare(va, vb);
        return state.dir * compare(va, vb) || a - b;
      });
    }
    return out;
  }

  function header(cols) {
    var tr = el("tr");
    tr.appendChild(el("th", { cls: "toggle", "aria-label": "expand" }));
    cols.forEach(function (c) {
      var th = el("th", { cls: c[3], "data-col": c[0], text: c[0] });
      if (state.sort === c[0]) th.setAttribute("aria-sort", state.dir > 0 ? "ascending" : "descending");
      th.addEventListener("click", function () {
        state.dir = state.sort === c[0] ? -state.dir : 1;
        state.sort = c[0];
        render();
      });
      tr.appendChild(th);
    });
    thead.replaceChildren(tr);
  }

  function traceNode(s) {
    var pre = el("pre", { cls: "text" });
    if (s.fi) {
      pre.appendChild(document.createTextNode(s.t.slice(0, s.fi[0])));
      pre.appendChild(el("mark", { cls: "first-invalid", title: s.why || "first invalid step", text: s.t.slice(s.fi[0], s.fi[1]) }));
      pre.appendChild(document.createTextNode(s.t.slice(s.fi[1])));
    } else pre.textContent = s.t;
    return pre;
  }

  function sampleNode(s, n) {
    var verdicts = Object.keys(s.v).filter(function (g) { return s.v[g]; })
      .map(function (g) { return el("span", { cls: "verdict " + s.v[g], text: g + ": " + s.v[g] }); });
    var head = el("div", { cls: "sample-head" }, [
      el("b", { text: s.ok ? "correct" : "wrong" }), " · sample #" + s.i + " · answer ",
      el("code", { cls: "answer", text: s.a === null ? "(no answer)" : String(s.a).slice(0, 200) }),
      " · given by " + s.x + " of " + n + " samples · "].concat(verdicts));
    if (s.tv !== null && s.tv !== undefined)
      head.appendChild(el("span", { cls: s.tv ? "trace valid" : "trace invalid",
        text: s.tv ? " · trace valid" : " · trace invalid: " + (s.why || "") }));
    var node = el("div", { cls: "sample " + (s.ok ? "ok" : "bad"), "data-sample": String(s.i) }, [head, traceNode(s)]);
    if (s.cut) node.appendChild(el("p", { cls: "meta", text: s.cut.toLocaleString() + " characters cut from the middle (size cap)" }));
    return node;
  }

  function detail(i, width) {
    var p = P[i];
    var body = el("div", { cls: "detail-body" }, [
      el("div", { cls: "question" }, [el("b", { text: "Question" }), el("pre", { text: p.q }),
        el("span", null, ["gold answer ", el("code", { text: p.g })])])]);
    D.models.forEach(function (m, j) {
      if (state.model !== "all" && state.model !== m.name) return;
      var x = p.m[j];
      var sec = el("section", { cls: "model-samples", "data-model": m.name }, [
        el("h4", { text: m.name + " (" + m.role + "): " + (x[0] === null ? "no samples" : x[1] + " of " + x[0] + " correct")
          + " · shown: " + p.s[j].length })]);
      p.s[j].forEach(function (s) { sec.appendChild(sampleNode(s, x[0])); });
      body.appendChild(sec);
    });
    var td = el("td", { colspan: String(width) }, [body]);
    return el("tr", { cls: "detail", "data-detail": String(i) }, [td]);
  }

  function render() {
    var cols = columns();
    header(cols);
    var rows = visible();
    var frag = document.createDocumentFragment();
    rows.forEach(function (i) {
      var p = P[i];
      var tr = el("tr", { cls: "problem" + (open.has(i) ? " open" : ""), "data-index": String(i), "data-id": p.id,
        "data-set": p.set || "" });
      tr.appendChild(el("td", { cls: "toggle", text: open.has(i) ? "▾" : "▸" }));
      cols.forEach(function (c) {
        var td = el("td", { cls: c[3], text: c[2](p) });
        if (c[3] === "set") td.className = "set " + String(p.set).replace(/ /g, "-");
        tr.appendChild(td);
      });
      tr.addEventListener("click", function () { open.has(i) ? open.delete(i) : open.add(i); render(); });
      frag.appendChild(tr);
      if (open.has(i)) frag.appendChild(detail(i, cols.length + 1));
    });
    tbody.replaceChildren(frag);
    document.getElementById("count").textContent = rows.length + " of " + P.length + " problems shown";
    saveHash();
  }

  // --- filters in the URL hash (#coverage=base only): links from the report open pre-filtered
  var ids = { coverage: "f-coverage", model: "f-model", level: "f-level", text: "f-text" };
  function saveHash() {
    var parts = [];
    Object.keys(ids).forEach(function (k) {
      var v = state[k];
      if (v && v !== "all") parts.push(k + "=" + encodeURIComponent(v));
    });
    try { history.replaceState(null, "", parts.length ? "#" + parts.join("&") : location.pathname + location.search); }
    catch (e) { /* some file:// contexts refuse; the page works the same */ }
  }
  function loadHash() {
    location.hash.replace(/^#/, "").split("&").forEach(function (kv) {
      var i = kv.indexOf("=");
      if (i < 0) return;
      var k = kv.slice(0, i), v = decodeURIComponent(kv.slice(i + 1)).replace(/_/g, " ");
      if (k === "text") v = decodeURIComponent(kv.slice(i + 1));
      var node = ids[k] && document.getElementById(ids[k]);
      if (!node) return;
      if (node.tagName === "SELECT") {
        var found = Array.from(node.options).filter(function (o) { return o.value.toLowerCase() === v.toLowerCase(); })[0];
        if (!found) return;
        v = found.value;
      }
      node.value = v;
      state[k] = v;
    });
  }
  Object.keys(ids).forEach(function (k) {
    var node = document.getElementById(ids[k]);
    if (!node) return;
    node.addEventListener(node.tagName === "SELECT" ? "change" : "input", function () { state[k] = node.value; render(); });
  });
  loadHash();
  render();
  // For load-time measurements (benchmarks/problems_page.py) and tests.
  window.problemsPageRenderedMs = performance.now();
  document.body.setAttribute("data-ready", "1");
})();
