/* mlcontract HTML report: filtering the checks and drawing the plot behind each verdict.
   The data (#mlc-data) is JSON written by mlcontract.report.formats.html; text from it reaches
   the page only through textContent and Chart.js labels (canvas), never as HTML. */
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("mlc-data").textContent);
  var PALETTE = ["#2563eb", "#ea580c", "#6b7280", "#16a34a", "#9333ea", "#0891b2"];
  var UNSEEN = "#dc2626";

  Chart.defaults.animation = false;
  Chart.defaults.maintainAspectRatio = false;
  Chart.defaults.font.size = 11;

  // Vertical lines (a p95, the epoch where a trend broke, a threshold) at x values.
  Chart.register({
    id: "mlcMarkers",
    afterDatasetsDraw: function (chart, args, options) {
      var lines = (options && options.lines) || [];
      var scale = chart.scales.x, area = chart.chartArea, ctx = chart.ctx;
      lines.forEach(function (line, i) {
        var px = scale.getPixelForValue(line.x);
        if (!isFinite(px) || px < area.left - 1 || px > area.right + 1) return;
        ctx.save();
        ctx.strokeStyle = line.color; ctx.lineWidth = 2; ctx.setLineDash(line.dash || [6, 4]);
        ctx.beginPath(); ctx.moveTo(px, area.top); ctx.lineTo(px, area.bottom); ctx.stroke();
        if (line.label) {
          ctx.fillStyle = line.color; ctx.font = "11px sans-serif";
          var width = ctx.measureText(line.label).width;
          var x = px + 4 + width > area.right ? px - 4 - width : px + 4;
          ctx.fillText(line.label, x, area.top + 12 + 13 * i);
        }
        ctx.restore();
      });
    }
  });

  function fmt(v) {
    if (v === null || v === undefined) return "—";
    if (typeof v !== "number") return String(v);
    var a = Math.abs(v);
    if (a !== 0 && (a < 0.001 || a >= 1e6)) return v.toExponential(3);
    return String(Number(v.toPrecision(4)));
  }
  function ms(seconds) { return fmt(seconds * 1000) + " ms"; }
  function share(counts) {
    var total = counts.reduce(function (a, b) { return a + b; }, 0) || 1;
    return counts.map(function (c) { return 100 * c / total; });
  }
  function color(i) { return PALETTE[i % PALETTE.length]; }
  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined) node.textContent = text;
    return node;
  }
  function canvas(container, config) {
    var box = el("div", "chart"), c = document.createElement("canvas");
    box.appendChild(c); container.appendChild(box);
    new Chart(c, config);
  }
  function title(text) { return { display: true, text: text }; }
  function sharesTooltip(counts) {
    return { callbacks: { label: function (item) {
      return item.dataset.label + ": " + fmt(item.raw) + "% (" + counts[item.datasetIndex][item.dataIndex] + " rows)";
    } } };
  }

  // Category labels come from the data: long ones are cut on the axis (the tooltip has them whole).
  var SHORT = { autoSkip: true, callback: function (value) {
    var label = String(this.getLabelForValue(value));
    return label.length > 28 ? label.slice(0, 27) + "…" : label;
  } };

  function binLabels(edges) {
    if (!edges.length) return ["all values"];
    var out = ["< " + fmt(edges[0])];
    for (var i = 1; i < edges.length; i++) out.push("[" + fmt(edges[i - 1]) + ", " + fmt(edges[i]) + ")");
    out.push("≥ " + fmt(edges[edges.length - 1]));
    return out;
  }

  var DRAW = {
    histogram: function (plot, box) {
      var counts = [plot.subject, plot.reference];
      canvas(box, { type: "bar", data: { labels: binLabels(plot.edges), datasets: [
        { label: plot.subject_name, data: share(plot.subject), backgroundColor: color(0) },
        { label: plot.reference_name, data: share(plot.reference), backgroundColor: color(1) }] },
        options: { scales: { y: { title: title("% of non-null values") }, x: { title: title("bins of the statistic") } },
                   plugins: { tooltip: sharesTooltip(counts) } } });
    },
    categories: function (plot, box) {
      var levels = plot.levels.slice(), subject = plot.subject.slice(), reference = plot.reference.slice();
      if (plot.other) {
        levels.push("other (" + plot.other.levels + " levels)");
        subject.push(plot.other.subject); reference.push(plot.other.reference);
      }
      var unseen = plot.levels.map(function (l) { return plot.unseen.indexOf(l) >= 0; });
      var labels = levels.map(function (l, i) { return (l === null ? "null" : String(l)) + (unseen[i] ? " (unseen)" : ""); });
      var refColors = levels.map(function (l, i) { return unseen[i] ? UNSEEN : color(1); });
      var counts = [subject, reference];
      canvas(box, { type: "bar", data: { labels: labels, datasets: [
        { label: plot.subject_name, data: share(subject), backgroundColor: color(0) },
        { label: plot.reference_name, data: share(reference), backgroundColor: refColors }] },
        options: { scales: { y: { title: title("% of non-null values") }, x: { ticks: SHORT } },
                   plugins: { tooltip: sharesTooltip(counts) } } });
      if (plot.unseen.length) box.appendChild(el("p", "note", plot.unseen.length + " level(s) of " + plot.reference_name +
        " never seen in " + plot.subject_name + " (red)"));
    },
    roc: function (plot, box) {
      var names = Object.keys(plot.curves);
      function lines(xKey, yKey) {
        return names.map(function (name, i) {
          var c = plot.curves[name];
          return { label: name, data: c[xKey].map(function (x, j) { return { x: x, y: c[yKey][j] }; }),
                   showLine: true, pointRadius: 0, borderColor: color(i), backgroundColor: color(i), borderWidth: 2 };
        });
      }
      var axes = function (x, y) { return { x: { type: "linear", min: 0, max: 1, title: title(x) },
                                            y: { min: 0, max: 1, title: title(y) } }; };
      var roc = lines("fpr", "tpr");
      roc.push({ label: "chance", data: [{ x: 0, y: 0 }, { x: 1, y: 1 }], showLine: true, pointRadius: 0,
                 borderColor: "#9ca3af", borderDash: [4, 4], borderWidth: 1 });
      canvas(box, { type: "scatter", data: { datasets: roc }, options: { scales: axes("false positive rate", "true positive rate"),
        plugins: { title: title("ROC (positive class " + fmt(plot.positive) + ")") } } });
      canvas(box, { type: "scatter", data: { datasets: lines("recall", "precision") },
        options: { scales: axes("recall", "precision"), plugins: { title: title("precision–recall") } } });
    },
    residuals: function (plot, box) {
      var names = Object.keys(plot.curves);
      var sets = names.map(function (name, i) {
        var c = plot.curves[name], total = c.counts.reduce(function (a, b) { return a + b; }, 0) || 1, points = [];
        c.counts.forEach(function (n, j) {
          var y = n / total / ((c.edges[j + 1] - c.edges[j]) || 1);
          points.push({ x: c.edges[j], y: y }, { x: c.edges[j + 1], y: y });
        });
        return { label: name, data: points, showLine: true, pointRadius: 0, borderColor: color(i), borderWidth: 2 };
      });
      canvas(box, { type: "scatter", data: { datasets: sets }, options: {
        scales: { x: { title: title("residual (prediction − label)") }, y: { beginAtZero: true, title: title("density") } },
        plugins: { mlcMarkers: { lines: [{ x: 0, color: "#9ca3af", dash: [2, 3] }] } } } });
    },
    confusion: function (plot, box) {
      Object.keys(plot.matrices).forEach(function (name) {
        var matrix = plot.matrices[name], table = el("table"), head = el("tr");
        table.appendChild(el("caption", null, name + ": rows true class, columns predicted"));
        head.appendChild(el("th", null, ""));
        plot.classes.forEach(function (c) { head.appendChild(el("th", null, String(c))); });
        table.appendChild(head);
        matrix.forEach(function (row, i) {
          var tr = el("tr"), total = row.reduce(function (a, b) { return a + b; }, 0) || 1;
          tr.appendChild(el("th", null, String(plot.classes[i])));
          row.forEach(function (n, j) {
            var td = el("td", null, String(n)), alpha = (n / total) * 0.8;
            td.style.background = (i === j ? "rgba(22,163,74," : "rgba(220,38,38,") + alpha.toFixed(3) + ")";
            tr.appendChild(td);
          });
          table.appendChild(tr);
        });
        box.appendChild(table);
      });
    },
    segments: function (plot, box, check) {
      var markers = check && typeof check.threshold === "number" ?
        [{ x: check.threshold, color: "#b91c1c", label: (check.comparator || "") + " " + fmt(check.threshold) }] : [];
      var labels = plot.segments.map(function (s, i) { return (s === null ? "null" : String(s)) + " (" + plot.rows[i] + " rows)"; });
      canvas(box, { type: "bar", data: { labels: labels, datasets: [
        { label: plot.by, data: plot.values, backgroundColor: color(0) }] },
        options: { indexAxis: "y", scales: { x: { title: title("value per segment of " + plot.by) }, y: { ticks: SHORT } },
                   plugins: { mlcMarkers: { lines: markers } } } });
    },
    curve: function (plot, box) {
      var numeric = plot.epochs.every(function (e) { return typeof e === "number"; });
      var points = plot.epochs.map(function (e, i) { return { x: numeric ? e : i, y: plot.values[i] }; });
      var where = function (epoch) { return numeric ? epoch : plot.epochs.indexOf(epoch); };
      var markers = [];
      if (plot.window_from !== null) markers.push({ x: where(plot.window_from), color: "#6b7280", label: "window" });
      if (plot.broke_at !== null) markers.push({ x: where(plot.broke_at), color: "#dc2626", dash: [1, 0],
                                                   label: "broke at epoch " + plot.broke_at });
      canvas(box, { type: "scatter", data: { datasets: [{ label: plot.curve, data: points, showLine: true, pointRadius: 1.5,
        borderColor: color(0), backgroundColor: color(0), borderWidth: 2 }] },
        options: { scales: { x: { title: title("epoch"), ticks: numeric ? {} : { callback: function (v) {
          return plot.epochs[v] === undefined ? "" : String(plot.epochs[v]); } } }, y: { title: title(plot.curve) } },
          plugins: { mlcMarkers: { lines: markers } } } });
    },
    latency: function (plot, box) {
      var names = Object.keys(plot.curves), edges = plot.edges.map(function (e) { return e * 1000; });
      var sets = names.map(function (name, i) {
        var counts = plot.curves[name].counts, total = counts.reduce(function (a, b) { return a + b; }, 0) || 1, pts = [];
        counts.forEach(function (n, j) { pts.push({ x: edges[j], y: 100 * n / total }, { x: edges[j + 1], y: 100 * n / total }); });
        return { label: name, data: pts, showLine: true, pointRadius: 0, borderColor: color(i),
                 backgroundColor: color(i) + "33", fill: "origin", borderWidth: 2 };
      });
      var markers = names.map(function (name, i) {
        return { x: plot.lines[name] * 1000, color: color(i), label: plot.statistic + " " + name + " " + ms(plot.lines[name]) };
      });
      canvas(box, { type: "scatter", data: { datasets: sets }, options: {
        scales: { x: { type: "logarithmic", title: title("ms per call") }, y: { min: 0, title: title("% of calls") } },
        plugins: { mlcMarkers: { lines: markers } } } });
    },
    row: function (plot, box) {
      var table = el("table"), head = el("tr"), body = el("tr");
      table.appendChild(el("caption", null, plot.variant + " — sent " + (plot.mode === "alone" ? "alone" : "in a batch") +
        "; the offending row:"));
      plot.columns.forEach(function (c, i) {
        var hl = plot.highlight.indexOf(c) >= 0;
        head.appendChild(el("th", hl ? "hl" : null, c));
        var v = plot.values[i];
        body.appendChild(el("td", hl ? "hl" : null, v === null ? "null" : (typeof v === "object" ? JSON.stringify(v) : String(v))));
      });
      table.appendChild(head); table.appendChild(body); box.appendChild(table);
    }
  };

  function draw(box) {
    if (box.dataset.rendered) return;
    box.dataset.rendered = "true";
    var index = box.dataset.index, plot = data.plots[index];
    if (!plot || !DRAW[plot.kind]) { box.appendChild(el("p", "note", "no picture for this check")); return; }
    DRAW[plot.kind](plot, box, data.checks[index]);
  }

  // Plots are drawn when they come into view: a contract of a thousand checks opens at once.
  var observer = "IntersectionObserver" in window ? new IntersectionObserver(function (entries) {
    entries.forEach(function (entry) { if (entry.isIntersecting) { observer.unobserve(entry.target); draw(entry.target); } });
  }, { rootMargin: "200px" }) : null;
  var boxes = document.querySelectorAll(".plot[data-index]");
  boxes.forEach(function (box) { if (observer) observer.observe(box); else draw(box); });

  // ---- filtering and expanding ----
  var rows = Array.prototype.slice.call(document.querySelectorAll("tr.check"));
  var detailOf = {};
  document.querySelectorAll("tr.detail").forEach(function (d) { detailOf[d.dataset.for] = d; });
  var searchText = rows.map(function (row) {
    var detail = detailOf[row.dataset.index];
    return (row.textContent + " " + (detail ? detail.querySelector(".message").textContent : "")).toLowerCase();
  });
  var search = document.getElementById("filter-text"), group = document.getElementById("filter-group");
  var shown = document.getElementById("shown");

  function apply() {
    var q = search.value.trim().toLowerCase(), wanted = {}, count = 0;
    document.querySelectorAll("input[name=status]").forEach(function (box) { wanted[box.value] = box.checked; });
    rows.forEach(function (row, i) {
      var ok = wanted[row.dataset.status] && (!group.value || row.dataset.kind === group.value) &&
               (!q || searchText[i].indexOf(q) >= 0);
      row.hidden = !ok;
      var detail = detailOf[row.dataset.index];
      if (detail) detail.hidden = !ok || row.getAttribute("aria-expanded") !== "true";
      if (ok) count++;
    });
    shown.textContent = count + " of " + rows.length + " checks shown";
  }
  function toggle(row, open) {
    row.setAttribute("aria-expanded", open ? "true" : "false");
    var detail = detailOf[row.dataset.index];
    if (detail) detail.hidden = !open || row.hidden;
  }
  rows.forEach(function (row) {
    row.addEventListener("click", function () { toggle(row, row.getAttribute("aria-expanded") !== "true"); });
    row.addEventListener("keydown", function (e) {
      if (e.key === "Enter" || e.key === " ") { e.preventDefault(); toggle(row, row.getAttribute("aria-expanded") !== "true"); }
    });
  });
  search.addEventListener("input", apply);
  group.addEventListener("change", apply);
  document.querySelectorAll("input[name=status]").forEach(function (box) { box.addEventListener("change", apply); });
  document.getElementById("expand-all").addEventListener("click", function () {
    rows.forEach(function (row) { if (!row.hidden) toggle(row, true); });
  });
  document.getElementById("collapse-all").addEventListener("click", function () {
    rows.forEach(function (row) { toggle(row, false); });
  });
  apply();
})();
