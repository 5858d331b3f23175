// codecbench report: curves (SVG), tables, per-image browser, provenance. No network, no libraries.
(function () {
  "use strict";
  var D = JSON.parse(document.getElementById("report-data").textContent);
  var app = document.getElementById("app");
  var NS = "http://www.w3.org/2000/svg";
  var state = {hidden: {}, log: false};
  var PROV = ["image_id", "codec", "target", "status", "bpp", "knob", "encodes", "bytes", "run_id", "git_commit", "time", "codecbench_version", "error"];
  var colour = {};
  D.codecs.forEach(function (c) { colour[c.name] = c.colour; });

  function el(tag, attrs, parent, text) {
    var e = tag.indexOf("svg:") === 0 ? document.createElementNS(NS, tag.slice(4)) : document.createElement(tag);
    for (var k in (attrs || {})) e.setAttribute(k, attrs[k]);
    if (text !== undefined) e.textContent = text;
    if (parent) parent.appendChild(e);
    return e;
  }
  function fmt(v, d) {
    if (v === null || v === undefined) return "–";
    if (typeof v === "string") return v;
    return Number(v).toFixed(d === undefined ? 3 : d);
  }
  function digits(m) { return (m === "ssim" || m === "ms_ssim") ? 4 : 2; }
  function isNum(v) { return typeof v === "number" && isFinite(v); }

  // ---- header
  var head = el("header", {}, app);
  el("h1", {}, head, D.title || "codecbench report");
  el("div", {"class": "meta"}, head, D.points.length + " points · " + D.codecs.length + " codecs · store " +
     D.source + " · written " + D.created);

  // ---- curves
  var sc = el("section", {id: "curves-section"}, app);
  el("h2", {}, sc, "Rate–quality curves");
  var ctr = el("div", {"class": "controls", id: "codec-toggles"}, sc);
  D.codecs.forEach(function (c) {
    var lab = el("label", {}, ctr);
    var cb = el("input", {type: "checkbox", "data-codec": c.name}, lab);
    cb.checked = true;
    cb.addEventListener("change", function () { state.hidden[c.name] = !cb.checked; drawCurves(); });
    el("span", {"class": "swatch", style: "background:" + c.colour}, lab);
    lab.appendChild(document.createTextNode(c.name));
  });
  var ctr2 = el("div", {"class": "controls"}, sc);
  [["lin", "linear rate"], ["log", "log rate"]].forEach(function (o) {
    var lab = el("label", {}, ctr2);
    var r = el("input", {type: "radio", name: "scale", id: "scale-" + o[0]}, lab);
    r.checked = (o[0] === "lin");
    r.addEventListener("change", function () { state.log = (o[0] === "log"); drawCurves(); });
    lab.appendChild(document.createTextNode(" " + o[1]));
  });
  var all = el("button", {type: "button", id: "all-codecs"}, ctr2, "all codecs");
  all.addEventListener("click", function () {
    state.hidden = {};
    ctr.querySelectorAll("input").forEach(function (i) { i.checked = true; });
    drawCurves();
  });
  var curvesDiv = el("div", {id: "curves"}, sc);
  var cover = el("div", {"class": "note", id: "coverage"}, sc);

  function coverage() {
    var lines = ["Lines and filled markers: targets every image reached (the common subset; the plotted default " +
                 "and what BD uses). Hollow markers: targets only some images reached, mean over those images " +
                 "(n/N), left out of the line."];
    D.codecs.forEach(function (c) {
      var rows = D.curves.filter(function (r) { return r.codec === c.name && r.target !== undefined; });
      var full = rows.filter(function (r) { return r.complete; }).map(function (r) { return r.target; });
      var part = rows.filter(function (r) { return !r.complete && r.n > 0; })
        .map(function (r) { return r.target + " (" + r.n + "/" + c.images + ")"; });
      var none = rows.filter(function (r) { return !(r.n > 0); }).map(function (r) { return r.target; });
      lines.push(c.name + ": " + c.images + " images; complete targets " + (full.join(", ") || "none") +
                 (part.length ? "; partial " + part.join(", ") : "") +
                 (none.length ? "; reached by no image " + none.join(", ") : ""));
    });
    cover.innerHTML = "";
    lines.forEach(function (l) { el("div", {}, cover, l); });
  }

  function ticks(lo, hi, n) {
    var span = hi - lo, step = Math.pow(10, Math.floor(Math.log10(span / n)));
    [1, 2, 5, 10].some(function (m) { if (span / (step * m) <= n) { step *= m; return true; } return false; });
    var out = [];
    for (var v = Math.ceil(lo / step) * step; v <= hi + 1e-12; v += step) out.push(+v.toPrecision(12));
    return out;
  }

  function drawPanel(metric) {
    var W = 430, H = 310, L = 52, R = 10, T = 22, B = 40;
    var rows = D.curves.filter(function (r) {
      return !state.hidden[r.codec] && isNum(r.bpp) && r.bpp > 0 && isNum(r[metric.name]) && r.n > 0;
    });
    var panel = el("div", {"class": "panel"});
    var svg = el("svg:svg", {width: W, height: H, "data-metric": metric.name}, panel);
    el("svg:text", {x: L, y: 14, "font-weight": "bold"}, svg, metric.title);
    if (!rows.length) { el("svg:text", {x: L + 10, y: H / 2}, svg, "no visible curve"); return panel; }
    var fx = state.log ? function (v) { return Math.log2(v); } : function (v) { return v; };
    var xs = rows.map(function (r) { return fx(r.bpp); }), ys = rows.map(function (r) { return r[metric.name]; });
    var x0 = Math.min.apply(null, xs), x1 = Math.max.apply(null, xs);
    var y0 = Math.min.apply(null, ys), y1 = Math.max.apply(null, ys);
    if (x1 === x0) { x0 -= 0.5; x1 += 0.5; }
    if (y1 === y0) { y0 -= 0.5; y1 += 0.5; }
    var px = (x1 - x0) * 0.05, py = (y1 - y0) * 0.06;
    x0 -= px; x1 += px; y0 -= py; y1 += py;
    function X(v) { return L + (fx(v) - x0) / (x1 - x0) * (W - L - R); }
    function Y(v) { return T + (y1 - v) / (y1 - y0) * (H - T - B); }
    var xt = state.log ? (function () { var o = []; for (var k = Math.ceil(x0); k <= Math.floor(x1); k++) o.push(Math.pow(2, k)); return o; })()
                       : ticks(x0, x1, 6);
    xt.forEach(function (v) {
      var x = X(v);
      el("svg:line", {x1: x, x2: x, y1: T, y2: H - B, "class": "grid"}, svg);
      el("svg:text", {x: x, y: H - B + 14, "text-anchor": "middle"}, svg, state.log ? String(+v.toPrecision(3)) : String(v));
    });
    ticks(y0, y1, 6).forEach(function (v) {
      var y = Y(v);
      el("svg:line", {x1: L, x2: W - R, y1: y, y2: y, "class": "grid"}, svg);
      el("svg:text", {x: L - 4, y: y + 4, "text-anchor": "end"}, svg, String(v));
    });
    el("svg:rect", {x: L, y: T, width: W - L - R, height: H - T - B, fill: "none", "class": "axis"}, svg);
    el("svg:text", {x: (L + W - R) / 2, y: H - 6, "text-anchor": "middle"}, svg,
       "bpp (mean achieved" + (state.log ? ", log scale)" : ")"));
    D.codecs.forEach(function (c) {
      if (state.hidden[c.name]) return;
      var mine = rows.filter(function (r) { return r.codec === c.name; }).sort(function (a, b) { return a.bpp - b.bpp; });
      var line = mine.filter(function (r) { return r.complete; });
      if (line.length > 1) {
        el("svg:path", {d: line.map(function (r, i) { return (i ? "L" : "M") + X(r.bpp).toFixed(1) + "," + Y(r[metric.name]).toFixed(1); }).join(""),
                        fill: "none", stroke: c.colour, "stroke-width": 1.6, "class": "curve", "data-codec": c.name}, svg);
      }
      mine.forEach(function (r) {
        var dot = el("svg:circle", {cx: X(r.bpp), cy: Y(r[metric.name]), r: r.complete ? 3.2 : 3.6,
                                    fill: r.complete ? c.colour : "#fff", stroke: c.colour, "stroke-width": 1.4,
                                    "class": "point" + (r.complete ? "" : " partial"), "data-codec": c.name}, svg);
        el("svg:title", {}, dot, c.name + " @ " + r.target + ": " + fmt(r.bpp, 4) + " bpp, " +
           fmt(r[metric.name], digits(metric.name)) + " (n=" + r.n + "/" + c.images +
           (r.complete ? "" : "; not every image reached this target") + ")");
      });
    });
    return panel;
  }

  function drawCurves() {
    curvesDiv.innerHTML = "";
    D.metrics.forEach(function (m) { curvesDiv.appendChild(drawPanel(m)); });
  }
  drawCurves();
  coverage();

  // ---- tables
  var st = el("section", {id: "tables-section"}, app);
  el("h2", {}, st, "Tables and BD-rates");
  Object.keys(D.tables).forEach(function (k) {
    el("h3", {}, st, k);
    var div = el("div", {"class": "tables"}, st);
    div.innerHTML = D.tables[k];  // built and escaped by codecbench.report.html
  });

  // ---- per-image browser
  function point(i, key) { var p = {key: key}; var s = D.points[i]; for (var k in s) p[k] = s[k]; p.m = p.m || {}; return p; }
  var sb = el("section", {id: "browser-section"}, app);
  el("h2", {}, sb, "Per-image browser");
  var imgs = Object.keys(D.browser.images || {});
  if (!imgs.length) {
    el("p", {"class": "note"}, sb, "No decoded images in this report (write it with images, e.g. codecbench report RESULTS --images 2).");
  } else {
    el("p", {"class": "note"}, sb, "Decoded images at 1:1 (crop " + (D.browser.crop ? D.browser.crop.join("×") : "full") +
       " px, lossless WebP: exactly the decoder's pixels), from --keep artifacts or re-encoded from the dataset with the stored knob.");
    var bc = el("div", {"class": "controls"}, sb);
    function sel(id, label) { var l = el("label", {}, bc, label + " "); return el("select", {id: id}, l); }
    var sImg = sel("sel-image", "image"), sTgt = sel("sel-target", "target"), sA = sel("sel-a", "codec A"),
        sB = sel("sel-b", "codec B"), sMode = sel("sel-mode", "view");
    [["side", "side by side"], ["swipe", "swipe"], ["flicker", "flicker"]].forEach(function (o) { el("option", {value: o[0]}, sMode, o[1]); });
    var segLab = el("label", {}, bc);
    var cSeg = el("input", {type: "checkbox", id: "chk-seg"}, segLab);
    segLab.appendChild(document.createTextNode(" segmentation overlay" + (D.browser.segmenter ? " (" + D.browser.segmenter + ")" : "")));
    imgs.forEach(function (i) { el("option", {value: i}, sImg, i); });
    var view = el("div", {id: "cmp"}, sb);
    var prov = el("div", {"class": "tables", id: "cmp-provenance"}, sb);
    var timer = null;

    function pointsOf(image) {
      var e = D.browser.images[image];
      return Object.keys(e.points).map(function (k) { return point(e.points[k].i, k); });
    }
    function fillTargets() {
      var ts = {};
      pointsOf(sImg.value).forEach(function (p) { if (p.target !== "fixed") ts[p.target] = p.target_bpp; });
      var keys = Object.keys(ts).sort(function (a, b) { return ts[a] - ts[b]; });
      var old = sTgt.value; sTgt.innerHTML = "";
      keys.forEach(function (t) { el("option", {value: t}, sTgt, t + " bpp"); });
      if (keys.indexOf(old) >= 0) sTgt.value = old;
      fillCodecs();
    }
    function pick(codec) {
      var ps = pointsOf(sImg.value).filter(function (p) { return p.codec === codec; });
      return ps.filter(function (p) { return p.target === sTgt.value; })[0] ||
             ps.filter(function (p) { return p.target === "fixed"; })[0] || null;
    }
    function fillCodecs() {
      var names = D.codecs.map(function (c) { return c.name; }).filter(function (c) { return pick(c); });
      [sA, sB].forEach(function (s, i) {
        var old = s.value; s.innerHTML = "";
        el("option", {value: "__original__"}, s, "original");
        names.forEach(function (c) { el("option", {value: c}, s, c); });
        s.value = names.indexOf(old) >= 0 ? old : (names[i] || names[0] || "__original__");
      });
      show();
    }
    function side(which) {
      var e = D.browser.images[sImg.value], codec = which.value;
      if (codec === "__original__") return {src: e.original, seg: e.seg_original || null, caption: "original " + sImg.value, key: "original", p: null};
      var p = pick(codec), ent = e.points[p.key];
      var cap = codec + " @ " + p.target + ": " + fmt(p.bpp, 4) + " bpp" + (isNum(p.m.psnr) ? ", " + fmt(p.m.psnr, 2) + " dB" : "") +
                (isNum(p.m.ssimulacra2) ? ", SSIMULACRA 2 " + fmt(p.m.ssimulacra2, 1) : "") +
                (isNum(p.m.miou) ? ", mIoU " + fmt(p.m.miou, 1) + " %" : "") +
                (p.status !== "ok" ? " — " + p.status + " (lowest rate, above the target)" : "") + " · " + ent.source +
                (ent.reproduced ? "" : " · re-encode differs from the stored point");
      return {src: ent.img, seg: ent.seg, caption: cap, key: p.key, p: p};
    }
    function figure(s, id, parent) {
      var f = el("figure", {id: id}, parent);
      var stack = el("div", {"class": "stack"}, f);
      el("img", {src: s.src, "data-key": s.key, alt: s.caption}, stack);
      if (cSeg.checked && s.seg) el("img", {src: s.seg, "class": "over"}, stack);
      el("figcaption", {}, f, s.caption);
      return f;
    }
    function show() {
      if (timer) { clearInterval(timer); timer = null; }
      view.innerHTML = "";
      var e = D.browser.images[sImg.value];
      cSeg.disabled = !e.seg_original;
      var a = side(sA), b = side(sB);
      if (sMode.value === "side") {
        figure(a, "cmp-a", view); figure(b, "cmp-b", view);
        if (cSeg.checked && e.truth) figure({src: e.truth, caption: "ground truth (black = void)", key: "truth"}, "cmp-truth", view);
      } else if (sMode.value === "swipe") {
        var f = el("figure", {id: "swipe-view"}, view);
        var stack = el("div", {"class": "stack"}, f);
        el("img", {src: b.src, "data-key": b.key, id: "cmp-b"}, stack);
        var top = el("img", {src: a.src, "data-key": a.key, id: "cmp-a", "class": "top"}, stack);
        var bar = el("div", {"class": "bar"}, stack);
        var range = el("input", {type: "range", min: 0, max: 100, value: 50, id: "swipe"}, f);
        function clip() {
          var w = top.naturalWidth || top.width, x = w * range.value / 100;
          top.style.clipPath = "inset(0 " + (w - x) + "px 0 0)"; bar.style.left = x + "px";
        }
        range.addEventListener("input", clip); top.addEventListener("load", clip); clip();
        el("figcaption", {}, f, "left: " + a.caption + " | right: " + b.caption);
      } else {
        var ff = el("figure", {id: "flicker-view"}, view);
        var fs = el("div", {"class": "stack"}, ff);
        var im = el("img", {src: a.src, "data-key": a.key, id: "cmp-flicker"}, fs);
        var cap = el("figcaption", {}, ff, a.caption);
        var showing = 0;
        timer = setInterval(function () {
          showing = 1 - showing; var s = showing ? b : a;
          im.src = s.src; im.setAttribute("data-key", s.key); cap.textContent = s.caption;
        }, 700);
      }
      prov.innerHTML = "";
      provenanceTable([a.p, b.p].filter(Boolean), prov);
    }
    [sImg].forEach(function (s) { s.addEventListener("change", fillTargets); });
    sTgt.addEventListener("change", fillCodecs);
    [sA, sB, sMode, cSeg].forEach(function (s) { s.addEventListener("change", show); });
    fillTargets();
  }

  // ---- provenance
  function provenanceTable(ps, parent) {
    var t = el("table", {}, parent), tr = el("tr", {}, el("thead", {}, t));
    var ms = D.metrics.map(function (m) { return m.name === "miou_dataset" ? "miou" : m.name; });
    PROV.concat(["version", "settings"], ms).forEach(function (h) { el("th", {}, tr, h); });
    var tb = el("tbody", {}, t);
    ps.forEach(function (p) {
      var c = D.codecs.filter(function (x) { return x.name === p.codec; })[0] || {};
      var r = el("tr", {}, tb);
      PROV.forEach(function (k) { el("td", {}, r, p[k] === undefined || p[k] === null ? "" : String(k === "git_commit" ? String(p[k]).slice(0, 10) : (typeof p[k] === "number" ? +p[k].toPrecision(6) : p[k]))); });
      el("td", {}, r, c.version || ""); el("td", {}, r, JSON.stringify(c.settings || {}));
      ms.forEach(function (m) { el("td", {}, r, fmt(p.m[m], digits(m))); });
    });
    return t;
  }
  var sp = el("section", {id: "provenance-section"}, app);
  el("h2", {}, sp, "Provenance");
  el("p", {"class": "note"}, sp, "Every stored point of a codec at a target: what was measured, with which library version and settings (defaults included), knob value, encodes spent by rate control, run, commit and time.");
  var pc = el("div", {"class": "controls"}, sp);
  var pCodec = el("select", {id: "prov-codec"}, el("label", {}, pc, "codec "));
  var pTarget = el("select", {id: "prov-target"}, el("label", {}, pc, "target "));
  D.codecs.forEach(function (c) { el("option", {value: c.name}, pCodec, c.name); });
  var pOut = el("div", {"class": "tables", id: "prov-table"}, sp);
  function provTargets() {
    var ts = {};
    D.points.forEach(function (p) { if (p.codec === pCodec.value) ts[p.target] = 1; });
    pTarget.innerHTML = "";
    Object.keys(ts).forEach(function (t) { el("option", {value: t}, pTarget, t); });
    provShow();
  }
  function provShow() {
    pOut.innerHTML = "";
    provenanceTable(D.points.filter(function (p) { return p.codec === pCodec.value && p.target === pTarget.value; })
      .map(function (p) { var q = {}; for (var k in p) q[k] = p[k]; q.m = p.m || {}; return q; }), pOut);
  }
  pCodec.addEventListener("change", provTargets); pTarget.addEventListener("change", provShow);
  provTargets();
  window.codecbenchReport = {data: D, state: state, redraw: drawCurves};
})();
