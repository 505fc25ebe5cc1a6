// modpolicy's HTML report: inlined in the page (engine/src/emit/diag/html.rs).
// Reads the JSON blocks mp-meta, mp-findings and mp-maps and builds the page with
// createElement/textContent only: data never goes through an HTML parser.
(function () {
  "use strict";
  var MAX_COLUMN = 30; // nodes per column of the drawing before "N more"
  var ROW_H = 24; // px, the findings table's row height (see report.css)

  function data(id) {
    return JSON.parse(document.getElementById(id).textContent);
  }
  function $(id) {
    return document.getElementById(id);
  }
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function clear(e) {
    while (e.firstChild) e.removeChild(e.firstChild);
  }

  var meta = data("mp-meta");
  var rows = data("mp-findings"); // [code, state, module, symbol, message, rule, file, affected]
  var maps = data("mp-maps");
  var F = { code: 0, state: 1, module: 2, symbol: 3, message: 4, rule: 5, file: 6, affected: 7 };

  // ---- the graphs: name lookups, built once per map ----
  if (maps.length === 0 && meta.abi) maps = [abiMap()];
  maps.forEach(function (m) {
    m.symbolAt = new Map();
    m.symbols.forEach(function (s, i) { m.symbolAt.set(s.name, i); });
    m.moduleAt = new Map();
    m.modules.forEach(function (mod, i) { if (!m.moduleAt.has(mod.name)) m.moduleAt.set(mod.name, i); });
    m.users = null; // reverse dependencies, on first use
  });

  // For `abi` (no resolved graph): each changed symbol, its exporter on the compared
  // sides, and the modules that import it.
  function abiMap() {
    var m = { input: meta.inputs[1] || "", kernel_version: null, modules: [], symbols: [] };
    var at = new Map();
    function mod(name) {
      if (!at.has(name)) {
        at.set(name, m.modules.length);
        m.modules.push({ name: name, path: name, description: null, deps: [] });
      }
      return at.get(name);
    }
    var seen = new Map();
    rows.forEach(function (r) {
      var sym = r[F.symbol];
      if (sym === null || seen.has(sym)) return;
      var s = { name: sym, exporters: [], provider: null, decision: null, importers: [] };
      if (r[F.module] !== null) { s.exporters.push(r[F.module] === "vmlinux" ? null : mod(r[F.module])); s.provider = 0; }
      (r[F.affected] || []).forEach(function (a) { s.importers.push(mod(a)); });
      seen.set(sym, true);
      m.symbols.push(s);
    });
    m.symbols.sort(function (a, b) { return a.name < b.name ? -1 : a.name > b.name ? 1 : 0; });
    return m;
  }

  // ---- summary ----
  $("title").textContent = meta.title + " report";
  $("subtitle").textContent = meta.inputs.join(", ") + "  \u00b7  " + meta.tool + " " + meta.version;
  $("sum-errors").textContent = meta.errors;
  $("sum-warnings").textContent = meta.warnings;
  $("sum-tolerated").textContent = meta.tolerated;
  (function () {
    var tb = $("sum-table").tBodies[0];
    function kv(k, v) {
      var tr = el("tr");
      tr.appendChild(el("td", null, k));
      var td = el("td");
      if (Array.isArray(v)) v.forEach(function (x) { td.appendChild(el("div", null, x)); });
      else td.textContent = v;
      tr.appendChild(td);
      tb.appendChild(tr);
    }
    kv(meta.inputs.length > 1 ? "inputs" : "input", meta.inputs);
    if (!meta.abi && maps.length) kv(maps.length > 1 ? "trees" : "tree", maps.map(function (m) { return m.input; }));
    var kv_ = maps.map(function (m) { return m.kernel_version; }).filter(function (v) { return v; });
    if (kv_.length) kv("kernel version", kv_.filter(function (v, i) { return kv_.indexOf(v) === i; }));
    kv("policy layers", meta.layers.length ? meta.layers : ["built in (kmod's rules, every code at its default level)"]);
    if (meta.policy_files.length > meta.layers.length) kv("policy files read", meta.policy_files);
    meta.notes.forEach(function (n) { kv(n[0], n[1]); });
    if (!meta.abi) {
      maps.forEach(function (m) {
        var contested = m.symbols.filter(function (s) { return s.exporters.length > 1; }).length;
        kv((maps.length > 1 ? m.input + ": " : "") + "modules", m.modules.length);
        kv((maps.length > 1 ? m.input + ": " : "") + "contested symbols", contested);
      });
    }
    var bc = $("by-code").tBodies[0];
    Object.keys(meta.by_code).forEach(function (code) {
      var n = meta.by_code[code];
      var tr = el("tr");
      var c = el("td", "link", code);
      c.addEventListener("click", function () { $("f-code").value = code; refilter(); location.hash = "#findings"; });
      tr.appendChild(c);
      n.forEach(function (x) { tr.appendChild(el("td", "num", x)); });
      tr.dataset.code = code;
      bc.appendChild(tr);
    });
  })();

  // ---- findings: a filtered, sorted index over `rows`, drawn a window at a time ----
  var cols = [
    { name: "level", key: function (r) { return { error: 0, warning: 1, tolerated: 2 }[r[F.state]]; }, w: "90px" },
    { name: "code", key: function (r) { return r[F.code]; }, w: "minmax(120px, 1.2fr)" },
    { name: "module", key: function (r) { return r[F.module] || ""; }, w: "minmax(100px, 1fr)", link: F.module },
    { name: "symbol", key: function (r) { return r[F.symbol] || ""; }, w: "minmax(100px, 1fr)", link: F.symbol },
    { name: "message", key: function (r) { return r[F.message]; }, w: "minmax(200px, 3fr)" },
    { name: "rule", key: function (r) { return r[F.rule] || ""; }, w: "minmax(100px, 1.2fr)" }
  ];
  if (meta.abi) cols.push({ name: "affected", key: function (r) { return (r[F.affected] || []).length; }, w: "80px", num: true });
  var table = $("f-table");
  table.style.setProperty("--cols", cols.map(function (c) { return c.w; }).join(" "));
  var sort = { col: -1, dir: 1 };
  cols.forEach(function (c, i) {
    var h = el("div", null, c.name);
    h.dataset.col = c.name;
    h.addEventListener("click", function () {
      sort.dir = sort.col === i ? -sort.dir : 1;
      sort.col = i;
      Array.prototype.forEach.call($("f-head").children, function (x, j) {
        x.className = j === i ? (sort.dir > 0 ? "sorted-asc" : "sorted-desc") : "";
      });
      refilter();
    });
    $("f-head").appendChild(h);
  });
  (function () {
    var sel = $("f-code");
    Object.keys(meta.by_code).forEach(function (c) { var o = el("option", null, c); o.value = c; sel.appendChild(o); });
  })();
  $("f-total").textContent = rows.length;
  var shown = []; // indexes into rows
  var body = $("f-body"), spacer = $("f-spacer");
  var pool = [];
  function refilter() {
    var code = $("f-code").value, level = $("f-level").value;
    var mod = $("f-module").value.trim().toLowerCase(), text = $("f-text").value.trim().toLowerCase();
    shown = [];
    for (var i = 0; i < rows.length; i++) {
      var r = rows[i];
      if (code && r[F.code] !== code) continue;
      if (level && r[F.state] !== level) continue;
      if (mod && (r[F.module] === null || r[F.module].toLowerCase().indexOf(mod) < 0)) continue;
      if (text && ((r[F.symbol] || "").toLowerCase().indexOf(text) < 0) && r[F.message].toLowerCase().indexOf(text) < 0) continue;
      shown.push(i);
    }
    if (sort.col >= 0) {
      var key = cols[sort.col].key, dir = sort.dir;
      var keys = new Map();
      shown.forEach(function (i) { keys.set(i, key(rows[i])); });
      shown.sort(function (a, b) {
        var x = keys.get(a), y = keys.get(b);
        return x < y ? -dir : x > y ? dir : a - b;
      });
    }
    $("f-count").textContent = shown.length;
    spacer.style.height = shown.length * ROW_H + "px";
    body.style.height = Math.min(480, Math.max(2, shown.length) * ROW_H + 2) + "px";
    body.scrollTop = 0;
    paint();
  }
  function paint() {
    var first = Math.max(0, Math.floor(body.scrollTop / ROW_H) - 5);
    var count = Math.min(shown.length - first, Math.ceil(body.clientHeight / ROW_H) + 10);
    count = Math.max(0, count);
    while (pool.length < count) {
      var row = el("div", "vrow");
      cols.forEach(function (c) { row.appendChild(el("div", c.num ? "num" : null)); });
      pool.push(row);
    }
    for (var k = 0; k < pool.length; k++) {
      var rowEl = pool[k];
      if (k >= count) { if (rowEl.parentNode) body.removeChild(rowEl); continue; }
      var idx = shown[first + k], r = rows[idx];
      rowEl.style.top = (first + k) * ROW_H + "px";
      rowEl.dataset.index = idx;
      for (var j = 0; j < cols.length; j++) {
        var cell = rowEl.children[j], c = cols[j];
        var v = c.name === "level" ? r[F.state] : c.name === "affected" ? (r[F.affected] || []).length : c.key(r);
        cell.textContent = v;
        cell.title = typeof v === "string" ? v : "";
        cell.className = c.name === "level" ? "lvl-" + r[F.state] : c.link !== undefined && v ? "link" : "";
        cell.dataset.name = c.link !== undefined ? v : "";
      }
      if (!rowEl.parentNode) body.appendChild(rowEl);
    }
  }
  body.addEventListener("scroll", function () { window.requestAnimationFrame(paint); });
  body.addEventListener("click", function (e) {
    var t = e.target;
    if (t.className === "link" && t.dataset.name) draw(currentMap(), t.dataset.name);
  });
  ["f-code", "f-level", "f-module", "f-text"].forEach(function (id) {
    $(id).addEventListener("input", refilter);
    $(id).addEventListener("change", refilter);
  });

  // ---- abi: changes by kind ----
  if (meta.abi) {
    $("abi").hidden = false;
    $("nav-abi").hidden = false;
    var kinds = new Map();
    rows.forEach(function (r) {
      if (r[F.code].indexOf("abi-") !== 0 || r[F.symbol] === null) return;
      var k = kinds.get(r[F.code]);
      if (!k) { k = { n: 0, err: 0, tol: 0, mods: new Set() }; kinds.set(r[F.code], k); }
      k.n++;
      if (r[F.state] === "error") k.err++;
      if (r[F.state] === "tolerated") k.tol++;
      (r[F.affected] || []).forEach(function (a) { k.mods.add(a); });
    });
    var tb = $("abi-kinds").tBodies[0];
    kinds.forEach(function (k, code) {
      var tr = el("tr");
      var c = el("td", "link", code);
      c.addEventListener("click", function () { $("f-code").value = code; refilter(); location.hash = "#findings"; });
      tr.appendChild(c);
      tr.dataset.code = code;
      [k.n, k.err, k.tol].forEach(function (x) { tr.appendChild(el("td", "num", x)); });
      var td = el("td");
      var names = Array.from(k.mods).sort();
      td.appendChild(el("span", null, names.length + (names.length ? ": " : "")));
      names.slice(0, 20).forEach(function (n, i) {
        if (i) td.appendChild(document.createTextNode(", "));
        var a = el("span", "link", n);
        a.addEventListener("click", function () { draw(currentMap(), n); });
        td.appendChild(a);
      });
      if (names.length > 20) td.appendChild(el("span", "more", ", and " + (names.length - 20) + " more"));
      tr.appendChild(td);
      tb.appendChild(tr);
    });
  }

  // ---- contested symbols ----
  var contested = []; // [map index, symbol]
  maps.forEach(function (m, mi) {
    m.symbols.forEach(function (s) { if (s.exporters.length > 1) contested.push([mi, s]); });
  });
  $("c-count").textContent = contested.length;
  if (meta.abi) { $("contested").hidden = true; $("nav-contested").hidden = true; }
  function who(m, e) {
    return e === null ? "vmlinux" : m.modules[e].name;
  }
  function nameLink(m, mi, name, cls) {
    var a = el("span", "link" + (cls ? " " + cls : ""), name);
    a.addEventListener("click", function () { $("g-input").value = String(mi); draw(mi, name); });
    return a;
  }
  function contestedCard(mi, s) {
    var m = maps[mi];
    var card = el("div", "sym");
    card.dataset.symbol = s.name;
    var h = el("h3");
    h.appendChild(nameLink(m, mi, s.name));
    if (maps.length > 1) h.appendChild(el("span", "more", "  in " + m.input));
    card.appendChild(h);
    card.appendChild(el("div", null, "exporters (" + s.exporters.length + "):"));
    var ul = el("ul");
    s.exporters.forEach(function (e, i) {
      var li = el("li", i === s.provider ? "chosen exporter" : "exporter");
      li.appendChild(e === null ? el("span", null, "vmlinux") : nameLink(m, mi, m.modules[e].name));
      if (e !== null) li.appendChild(el("span", "where", "  " + m.modules[e].path));
      if (i === s.provider) li.appendChild(el("span", null, "  \u2605 provider"));
      ul.appendChild(li);
    });
    card.appendChild(ul);
    var d = s.decision;
    var rule = el("div", "rule");
    if (d) {
      rule.appendChild(el("span", null, "decided by "));
      rule.appendChild(el("b", "rule-kind", d.rule));
      rule.appendChild(el("span", "where rule-at", d.file ? "  " + d.file + ":" + d.line : "  built in"));
      rule.appendChild(el("span", "rule-how", ": " + d.how));
      if (d.reason) rule.appendChild(el("div", "rule-reason", "reason: " + d.reason));
    } else {
      rule.textContent = "no decision recorded";
    }
    card.appendChild(rule);
    var imp = el("div", "importers", "importers (" + s.importers.length + ")" + (s.importers.length ? ": " : ""));
    s.importers.slice(0, 40).forEach(function (i, k) {
      if (k) imp.appendChild(document.createTextNode(", "));
      imp.appendChild(nameLink(m, mi, m.modules[i].name));
    });
    if (s.importers.length > 40) imp.appendChild(el("span", "more", ", and " + (s.importers.length - 40) + " more"));
    card.appendChild(imp);
    return card;
  }
  var C_PAGE = 100;
  function renderContested() {
    var q = $("c-filter").value.trim().toLowerCase();
    var list = $("c-list");
    clear(list);
    var hits = contested.filter(function (c) {
      if (!q) return true;
      var m = maps[c[0]], s = c[1];
      if (s.name.toLowerCase().indexOf(q) >= 0) return true;
      return s.exporters.some(function (e) { return who(m, e).toLowerCase().indexOf(q) >= 0; });
    });
    var limit = C_PAGE;
    function more() {
      var start = list.querySelectorAll(".sym").length;
      var btn = list.querySelector("button");
      if (btn) list.removeChild(btn);
      hits.slice(start, limit).forEach(function (c) { list.appendChild(contestedCard(c[0], c[1])); });
      if (hits.length > limit) {
        var b = el("button", null, "show " + Math.min(C_PAGE, hits.length - limit) + " more of " + (hits.length - limit));
        b.addEventListener("click", function () { limit += C_PAGE; more(); });
        list.appendChild(b);
      }
    }
    if (!hits.length) list.appendChild(el("p", "hint", contested.length ? "no contested symbol matches" : "no symbol has several exporters"));
    more();
  }
  $("c-filter").addEventListener("input", renderContested);
  renderContested();

  // ---- the drawing ----
  var gsel = $("g-input");
  maps.forEach(function (m, i) { var o = el("option", null, m.input); o.value = String(i); gsel.appendChild(o); });
  if (maps.length < 2) gsel.parentNode.hidden = true;
  function currentMap() { return Number(gsel.value || 0); }
  function fillNames() {
    var dl = $("g-names");
    clear(dl);
    var m = maps[currentMap()];
    if (!m) return;
    var names = [];
    contested.forEach(function (c) { if (maps[c[0]] === m) names.push(c[1].name); });
    m.modules.forEach(function (mod) { names.push(mod.name); });
    names.slice(0, 5000).forEach(function (n) { var o = el("option"); o.value = n; dl.appendChild(o); });
  }
  gsel.addEventListener("change", fillNames);
  fillNames();
  $("g-name").addEventListener("keydown", function (e) {
    if (e.key === "Enter") draw(currentMap(), $("g-name").value.trim());
  });
  $("g-name").addEventListener("change", function () { draw(currentMap(), $("g-name").value.trim()); });
  if (!maps.length) { $("graph").hidden = true; $("nav-graph").hidden = true; }

  var SVG = "http://www.w3.org/2000/svg";
  function svgEl(tag, attrs) {
    var e = document.createElementNS(SVG, tag);
    Object.keys(attrs || {}).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    return e;
  }
  function usersOf(m, i) {
    if (!m.users) {
      m.users = m.modules.map(function () { return []; });
      m.modules.forEach(function (mod, j) { mod.deps.forEach(function (d) { m.users[d].push(j); }); });
    }
    return m.users[i];
  }
  // Draws `name` (a symbol, else a module) of map `mi`: three columns, the centre
  // node, and edges from left to centre and centre to right.
  function draw(mi, name, quiet) {
    var m = maps[mi];
    var status = $("g-status"), box = $("g-box");
    if (!m) return;
    var si = m.symbolAt.get(name), modi = m.moduleAt.get(name);
    var left, right, center, lhead, rhead, kind;
    if (si !== undefined) {
      var s = m.symbols[si];
      kind = "symbol";
      center = { label: s.name, cls: "center", kind: "symbol" };
      lhead = "exporters (" + s.exporters.length + ")";
      left = s.exporters.map(function (e, i) {
        return { label: who(m, e), cls: (i === s.provider ? "chosen" : "") + (e === null ? " vmlinux" : ""), go: e === null ? null : who(m, e), kind: "exporter" };
      });
      rhead = "importers (" + s.importers.length + ")";
      right = s.importers.map(function (i) { return { label: m.modules[i].name, go: m.modules[i].name, kind: "importer" }; });
      var d = s.decision;
      status.textContent = s.exporters.length ? (s.exporters.length > 1 && d ? "provider " + who(m, s.exporters[s.provider]) + ", by " + d.rule + (d.file ? " at " + d.file + ":" + d.line : " (built in)") : "provider " + who(m, s.exporters[s.provider])) : "nobody exports it";
    } else if (modi !== undefined) {
      var mod = m.modules[modi];
      kind = "module";
      center = { label: mod.name, cls: "center", kind: "module" };
      lhead = "depends on (" + mod.deps.length + ")";
      left = mod.deps.map(function (i) { return { label: m.modules[i].name, go: m.modules[i].name, kind: "dependency" }; });
      var us = usersOf(m, modi);
      rhead = "used by (" + us.length + ")";
      right = us.map(function (i) { return { label: m.modules[i].name, go: m.modules[i].name, kind: "user" }; });
      status.textContent = mod.path + (mod.description ? " \u2014 " + mod.description : "");
    } else {
      status.textContent = "no symbol or module named " + JSON.stringify(name);
      return;
    }
    $("g-name").value = name;
    function cap(list) {
      if (list.length <= MAX_COLUMN) return list;
      return list.slice(0, MAX_COLUMN - 1).concat([{ label: "\u2026 and " + (list.length - MAX_COLUMN + 1) + " more", cls: "more", kind: "more" }]);
    }
    left = cap(left);
    right = cap(right);
    var W = 260, GAP = 120, NH = 22, VG = 6, TOP = 28;
    var xs = [10, 10 + W + GAP, 10 + 2 * (W + GAP)];
    var rowsN = Math.max(left.length, right.length, 1);
    var height = TOP + rowsN * (NH + VG) + 10;
    var svg = svgEl("svg", { width: xs[2] + W + 10, height: height, viewBox: "0 0 " + (xs[2] + W + 10) + " " + height, role: "img" });
    svg.dataset.kind = kind;
    var t = svgEl("title");
    t.textContent = kind + " " + name;
    svg.appendChild(t);
    [[xs[0], lhead], [xs[1], kind], [xs[2], rhead]].forEach(function (h) {
      var tx = svgEl("text", { x: h[0], y: 16, "class": "colhead" });
      tx.textContent = h[1];
      svg.appendChild(tx);
    });
    var cy = TOP + ((rowsN - 1) * (NH + VG)) / 2;
    function node(x, y, n) {
      var g = svgEl("g", { "class": "node " + (n.cls || "") + (n.go ? " clickable" : ""), transform: "translate(" + x + "," + y + ")" });
      g.dataset.kind = n.kind;
      g.dataset.label = n.label;
      g.appendChild(svgEl("rect", { width: W, height: NH, rx: 4 }));
      var tx = svgEl("text", { x: 8, y: 15 });
      tx.textContent = n.label.length > 34 ? n.label.slice(0, 33) + "\u2026" : n.label;
      var tt = svgEl("title");
      tt.textContent = n.label;
      g.appendChild(tt);
      g.appendChild(tx);
      if (n.go) g.addEventListener("click", function () { draw(mi, n.go); });
      return g;
    }
    function y(i, len) {
      return TOP + i * (NH + VG) + ((rowsN - len) * (NH + VG)) / 2;
    }
    var edges = svgEl("g");
    svg.appendChild(edges);
    function edge(x1, y1, x2, y2) {
      var mx = (x1 + x2) / 2;
      edges.appendChild(svgEl("path", { "class": "edge", d: "M" + x1 + "," + y1 + " C" + mx + "," + y1 + " " + mx + "," + y2 + " " + x2 + "," + y2 }));
    }
    left.forEach(function (n, i) {
      var yy = y(i, left.length);
      svg.appendChild(node(xs[0], yy, n));
      edge(xs[0] + W, yy + NH / 2, xs[1], cy + NH / 2);
    });
    svg.appendChild(node(xs[1], cy, center));
    right.forEach(function (n, i) {
      var yy = y(i, right.length);
      svg.appendChild(node(xs[2], yy, n));
      edge(xs[1] + W, cy + NH / 2, xs[2], yy + NH / 2);
    });
    clear(box);
    box.appendChild(svg);
    if (!quiet) $("graph").scrollIntoView();
  }
  window.modpolicyReport = { draw: draw, refilter: refilter };

  refilter();
  // The first contested symbol (or changed symbol) is drawn at once.
  if (contested.length) draw(contested[0][0], contested[0][1].name, true);
  else if (meta.abi && maps.length && maps[0].symbols.length) draw(0, maps[0].symbols[0].name, true);
  document.documentElement.dataset.rendered = "true";
  window.modpolicyRenderedAt = performance.now();
})();
