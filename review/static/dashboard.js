// The dashboard's charts, drawn by the vendored ECharts (same origin; nothing loads from outside) from the page's
// JSON data block. One palette for every chart; every chart links to the queue filtered to what was clicked.
// Tooltips render on the canvas (richText): the CSP forbids the inline styles an HTML tooltip would need.
(function () {
  "use strict";
  var el = document.getElementById("dashboard-data");
  if (!el || !window.echarts) return;
  var s = JSON.parse(el.textContent);
  var PALETTE = ["#8b1a1a", "#2471a3", "#d68910", "#229954", "#7d3c98", "#17a589", "#a04000", "#1f618d", "#839192"];
  var charts = [];

  function queue(params) {
    var q = new URLSearchParams(params);
    window.location.href = "/queue?" + q.toString();
  }

  function make(id, option, onClick) {
    var node = document.getElementById(id);
    if (!node) return;
    var chart = echarts.init(node, null, { renderer: "canvas" });
    option.color = PALETTE;
    option.animation = false;  // drawn at once: numbers to read, and a screenshot shows them whole
    option.tooltip = Object.assign({ renderMode: "richText", confine: true }, option.tooltip || {});
    option.grid = Object.assign({ left: 40, right: 16, top: 36, bottom: 28, containLabel: true }, option.grid || {});
    chart.setOption(option);
    if (onClick) {
      chart.on("click", onClick);
      node.classList.add("clickable");
    }
    charts.push(chart);
  }

  function short(day) { return day.slice(5); }

  function stacked(id, series, keyOf, param) {
    var names = Object.keys(series);
    make(id, {
      legend: { type: "scroll", top: 0 },
      tooltip: { trigger: "axis" },
      xAxis: { type: "category", data: s.days.map(short) },
      yAxis: { type: "value", minInterval: 1 },
      series: names.map(function (n) { return { name: n, type: "bar", stack: "all", data: series[n], emphasis: { focus: "series" } }; })
    }, function (p) {
      var day = s.days[p.dataIndex], q = { status: "all", since: day, until: day };
      var code = keyOf[p.seriesName];
      if (code) q[param] = code;
      queue(q);
    });
  }

  stacked("chart-category", s.flags_by_category, s.category_codes || {}, "category");
  stacked("chart-unit", s.flags_by_unit, s.unit_codes || {}, "unit");

  var districts = s.districts.slice(0, 15);
  make("chart-district", {
    tooltip: { trigger: "axis" },
    legend: { top: 0 },
    xAxis: { type: "value", minInterval: 1 },
    yAxis: { type: "category", inverse: true, data: districts.map(function (d) { return d.name; }) },
    series: [
      { name: "待处理", type: "bar", stack: "d", data: districts.map(function (d) { return d.open; }) },
      { name: "已处理", type: "bar", stack: "d", data: districts.map(function (d) { return d.total - d.open; }) }
    ]
  }, function (p) {
    var d = districts[p.dataIndex];
    if (d && d.region) queue({ status: p.seriesName === "待处理" ? "open" : "all", region: d.region, since: s.days[0] });
  });

  make("chart-rate", {
    tooltip: { trigger: "axis" },
    xAxis: { type: "category", data: s.days.map(short) },
    yAxis: { type: "value", min: 0, max: 1, axisLabel: { formatter: function (v) { return Math.round(v * 100) + "%"; } } },
    series: [{ name: "确认率", type: "line", connectNulls: true, data: s.confirmation_rate_by_day }]
  }, function (p) { var day = s.days[p.dataIndex]; queue({ status: "confirmed", since: day, until: day }); });

  var dl = Object.keys(s.deadlines);
  make("chart-deadline", {
    tooltip: {},
    xAxis: { type: "category", data: dl },
    yAxis: { type: "value", minInterval: 1 },
    series: [{ name: "待处理案件", type: "bar", data: dl.map(function (k, i) { return { value: s.deadlines[k], itemStyle: { color: PALETTE[[0, 2, 3][i]] } }; }) }]
  }, function (p) {
    var range = (s.deadline_ranges || {})[dl[p.dataIndex]] || {};
    queue(Object.assign({ status: "open" }, range));
  });

  var units = Array.from(new Set(Object.keys(s.referrals_by_unit).concat(Object.keys(s.escalations_by_unit))));
  make("chart-referrals", {
    tooltip: { trigger: "axis" },
    legend: { top: 0 },
    xAxis: { type: "value", minInterval: 1 },
    yAxis: { type: "category", inverse: true, data: units, axisLabel: { width: 140, overflow: "truncate" } },
    series: [
      { name: "已移送", type: "bar", data: units.map(function (u) { return s.referrals_by_unit[u] || 0; }) },
      { name: "待决定的上报", type: "bar", data: units.map(function (u) { return s.escalations_by_unit[u] || 0; }) }
    ]
  }, function (p) {
    var q = { status: p.seriesName === "已移送" ? "referred" : "escalated" };
    var code = (s.unit_codes || {})[units[p.dataIndex]];
    if (code) q.unit = code;
    queue(q);
  });

  var ages = Object.keys(s.backlog_age);
  make("chart-backlog", {
    tooltip: {},
    xAxis: { type: "category", data: ages },
    yAxis: { type: "value", minInterval: 1 },
    series: [{ name: "积压", type: "bar", data: ages.map(function (k) { return s.backlog_age[k]; }) }]
  }, function (p) { queue(Object.assign({ status: "open" }, (s.backlog_ranges || {})[ages[p.dataIndex]] || {})); });

  var people = Object.keys(s.throughput);
  make("chart-throughput", {
    tooltip: {},
    xAxis: { type: "value", minInterval: 1 },
    yAxis: { type: "category", inverse: true, data: people },
    series: [{ name: "决定数", type: "bar", data: people.map(function (k) { return s.throughput[k]; }) }]
  }, function (p) { queue({ status: "all", assignee: people[p.dataIndex], since: s.days[0] }); });

  var timer = null;
  window.addEventListener("resize", function () {
    clearTimeout(timer);
    timer = setTimeout(function () { charts.forEach(function (c) { c.resize(); }); }, 100);
  });
})();
