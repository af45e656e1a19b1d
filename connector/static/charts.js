/* Charts for the account and support pages (Chart.js, vendored). Data comes from #chart-data (JSON). */
(function () {
  "use strict";
  var el = document.getElementById("chart-data");
  if (!el || typeof Chart === "undefined") { return; }
  var data = JSON.parse(el.textContent);
  Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
  Chart.defaults.color = "#5b6472";
  Chart.defaults.maintainAspectRatio = false;

  // A time line (ms since the epoch) from `times`: about five or six ticks on whole days (from a month's step
  // up, on the first of a month), labelled "6 Dec 2026". Points sit by their date, not evenly by position.
  var DAY = 86400000;
  var MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
  var dayLabel = function (ms) {
    var d = new Date(ms);
    return d.getUTCDate() + " " + MONTHS[d.getUTCMonth()] + " " + d.getUTCFullYear();
  };
  // A week's or a day's ISO date from the server ("2026-11-09") as the page writes dates: "9 Nov 2026".
  var dayText = function (s) {
    return /^\d{4}-\d{2}-\d{2}$/.test(s) ? dayLabel(Date.parse(s + "T00:00:00Z")) : s;
  };
  var timeAxis = function (times) {
    var first = Math.min.apply(null, times), last = Math.max.apply(null, times);
    if (!isFinite(first) || !isFinite(last)) { return { type: "linear" }; }  // no dates: never loop over ticks
    var spanDays = (last - first) / DAY;
    var padDays = Math.max(1, Math.ceil(spanDays * 0.03));
    var stepDays = [1, 2, 7, 14, 30, 61, 91, 182, 365, 730].filter(function (d) { return d * 6 >= spanDays; })[0] || 1461;
    var dayTicks = function (scale) {
      var out = [], v;
      if (stepDays < 30) {
        for (v = Math.ceil(scale.min / (stepDays * DAY)) * stepDays * DAY; v <= scale.max; v += stepDays * DAY) {
          out.push({ value: v });
        }
      } else {
        var months = Math.round(stepDays / 30.4), d = new Date(scale.min);
        var m = d.getUTCFullYear() * 12 + d.getUTCMonth() + 1;
        m = Math.ceil(m / months) * months;
        for (v = Date.UTC(Math.floor(m / 12), m % 12, 1); v <= scale.max; m += months, v = Date.UTC(Math.floor(m / 12), m % 12, 1)) {
          out.push({ value: v });
        }
      }
      scale.ticks = out;
    };
    return { type: "linear", min: first - padDays * DAY, max: last + padDays * DAY,
             afterBuildTicks: dayTicks, ticks: { callback: function (v) { return dayLabel(v); } } };
  };

  var history = document.getElementById("history-chart");
  if (history) {
    // Each score at its time (passes are not evenly spaced: a refresh an hour after a pass sits beside it).
    // Without times (a page from a server older than this script): the dates as categories, as before.
    var timed = !!data.times && data.times.length === data.scores.length && data.times.length > 0;
    var xs = timed ? data.times : data.labels;
    var datasets = [{
      label: "Health score", data: data.scores.map(function (y, i) { return { x: xs[i], y: y }; }),
      borderColor: "#1f3a5f", backgroundColor: "rgba(31,58,95,.08)",
      fill: true, tension: 0.25, pointRadius: data.scores.length > 60 ? 0 : 2, borderWidth: 2
    }];
    var ends = timed ? [Math.min.apply(null, xs), Math.max.apply(null, xs)] : [xs[0], xs[xs.length - 1]];
    (data.bands || []).forEach(function (b) {
      if (b.min <= 0) { return; }
      datasets.push({
        label: (b.label || b.name) + " from " + b.min, data: ends.map(function (t) { return { x: t, y: b.min }; }),
        borderColor: b.colour, borderDash: [6, 4], borderWidth: 1.5, pointRadius: 0, fill: false
      });
    });
    new Chart(history, {
      type: "line", data: { datasets: datasets },
      options: { interaction: { mode: "nearest", axis: "x", intersect: false },
        scales: { y: { min: 0, max: 100, title: { display: true, text: "score" } }, x: timed ? timeAxis(xs) : { type: "category", labels: xs, ticks: { maxTicksLimit: 8 } } },
        plugins: { legend: { position: "bottom", labels: { boxWidth: 14 } },
                   tooltip: { filter: function (item) { return item.datasetIndex === 0; },
                              callbacks: { title: function (items) { return items.length ? data.labels[items[0].dataIndex] : ""; } } } } }
    });
  }

  var surveys = document.getElementById("survey-chart");
  if (surveys) {
    // Placed by date on the time line: two answers 2 days apart sit close together, two 2 months apart far
    // apart (a category axis spaced every distinct date evenly).
    var when = function (iso) { return Date.parse(iso + "T00:00:00Z"); };
    var pick = function (kind) {
      return data.surveys.filter(function (s) { return s.kind === kind; })
        .map(function (s) { return { x: when(s.date), y: s.score }; });
    };
    new Chart(surveys, {
      type: "scatter",
      data: { datasets: [
        // clip: false: a 10 (or a 5) sits on the top edge and is drawn whole, not cut in half
        { label: "NPS (0–10)", data: pick("nps"), backgroundColor: "#1f3a5f", pointStyle: "circle", radius: 4, clip: false },
        { label: "CSAT (1–5)", data: pick("csat"), backgroundColor: "#e07b39", pointStyle: "triangle", radius: 5, yAxisID: "y2", clip: false }
      ] },
      // Each survey on its own scale: NPS answers 0–10 on the left, CSAT ratings 1–5 on the right.
      options: { scales: { x: timeAxis(data.surveys.map(function (s) { return when(s.date); })),
                            y: { min: 0, max: 10, title: { display: true, text: "NPS (0–10)" } },
                            y2: { position: "right", min: 1, max: 5, ticks: { stepSize: 1 }, grid: { drawOnChartArea: false }, title: { display: true, text: "CSAT (1–5)" } } },
                 plugins: { legend: { position: "bottom" },
                            tooltip: { callbacks: {
                              title: function (items) { return items.length ? dayLabel(items[0].parsed.x) : ""; },
                              label: function (item) { return item.dataset.label + ": " + item.parsed.y; } } } } }
    });
  }

  var perGroup = document.getElementById("group-sentiment-chart");
  if (perGroup) {
    var palette = ["#1f3a5f", "#c62828", "#2e7d32", "#e07b39", "#6a1b9a", "#00838f"];
    var names = Object.keys(data.groups || {});
    new Chart(perGroup, {
      type: "line",
      data: { labels: (data.labels || []).map(dayText), datasets: names.map(function (name, i) {
        return { label: name === "(no group)" ? "No group" : name, data: data.groups[name],
                 borderColor: palette[i % palette.length], backgroundColor: palette[i % palette.length],
                 tension: 0.3, pointRadius: 2, spanGaps: true };
      }) },
      options: { interaction: { mode: "index", intersect: false },
        scales: { y: { min: -1, max: 1, title: { display: true, text: "average sentiment" } },
                  x: { ticks: { maxTicksLimit: 8 } } },
        plugins: { legend: { position: "bottom" } } }
    });
  }

  var sentiment = document.getElementById("sentiment-chart");
  if (sentiment) {
    new Chart(sentiment, {
      data: { labels: (data.labels || []).map(dayText), datasets: [
        { type: "bar", label: "negative", data: data.negative, backgroundColor: "#c62828", stack: "t", yAxisID: "y" },
        { type: "bar", label: "neutral", data: data.neutral, backgroundColor: "#b0b7c3", stack: "t", yAxisID: "y" },
        { type: "bar", label: "positive", data: data.positive, backgroundColor: "#2e7d32", stack: "t", yAxisID: "y" },
        { type: "line", label: "average sentiment", data: data.average, borderColor: "#1f3a5f", yAxisID: "y2",
          tension: 0.3, pointRadius: 2, spanGaps: true }
      ] },
      options: { interaction: { mode: "index", intersect: false },
        scales: { y: { stacked: true, title: { display: true, text: "tickets" } },
                  x: { stacked: true, ticks: { maxTicksLimit: 10 } },
                  y2: { position: "right", min: -1, max: 1, grid: { drawOnChartArea: false }, title: { display: true, text: "sentiment" } } },
        plugins: { legend: { position: "bottom" } } }
    });
  }
})();
