// The operator page's charts with Apache ECharts (vendored, same origin), drawn over the server's SVG, which
// stays as the fallback without JavaScript or ECharts. The chart data comes from a data-echarts attribute and is
// only ever parsed as JSON and drawn on a canvas: labels and tooltips are plain text (tooltip renderMode
// "richText"), nothing from the page data becomes HTML.
(function () {
  "use strict";
  if (!window.echarts) return;

  var PALETTE = ["#2e7d32", "#d68910", "#7f8c8d", "#b0bec5", "#2471a3", "#7d3c98", "#17a589", "#a04000"];

  function text(value, max) {
    var s = value === null || value === undefined ? "" : String(value);
    return s.length > max ? s.slice(0, max) + "…" : s;
  }

  function timeline(spec) {
    var names = Object.keys(spec.series || {});
    return {
      color: PALETTE,
      tooltip: { trigger: "axis", renderMode: "richText" },
      legend: { data: names, top: 0 },
      grid: { left: 40, right: 16, top: 36, bottom: 40 },
      xAxis: { type: "category", data: spec.days || [] },
      yAxis: { type: "value", minInterval: 1, name: spec.unit === "week" ? "每周新增" : "每日新增" },
      series: names.map(function (name) {
        return { name: name, type: "bar", stack: "ads", barMaxWidth: 40, data: spec.series[name] };
      })
    };
  }

  function graph(spec) {
    var categories = (spec.categories || []).map(function (c) { return { name: text(c, 20) }; });
    return {
      tooltip: { renderMode: "richText", formatter: function (p) { return text(p.data && p.data.full, 80); } },
      legend: { data: categories.map(function (c) { return c.name; }), top: 0 },
      series: [{
        type: "graph",
        layout: "force",
        roam: true,
        draggable: true,
        categories: categories,
        force: { repulsion: 280, edgeLength: [60, 130] },
        label: { show: true, position: "right", fontSize: 11, formatter: function (p) { return text(p.data && p.data.name, 18); } },
        data: (spec.nodes || []).map(function (n) {
          return { id: String(n.id), name: text(n.name, 40), full: text(n.name, 80), category: n.category,
                   symbol: n.document ? "rect" : "circle", symbolSize: n.size || 12 };
        }),
        links: (spec.links || []).map(function (l) { return { source: String(l.source), target: String(l.target) }; }),
        lineStyle: { color: "#90a4ae", width: 1 }
      }]
    };
  }

  document.querySelectorAll("[data-echarts]").forEach(function (el) {
    var spec;
    try { spec = JSON.parse(el.getAttribute("data-echarts")); } catch (e) { return; }
    if (!spec || (spec.kind === "timeline" && !(spec.days || []).length) || (spec.kind === "graph" && !(spec.nodes || []).length)) return;
    var box = document.createElement("div");
    box.className = "echart";
    el.appendChild(box);
    var chart = window.echarts.init(box, null, { renderer: "canvas" });
    chart.setOption(spec.kind === "graph" ? graph(spec) : timeline(spec));
    var fallback = el.querySelector(".svg-fallback");
    if (fallback) fallback.hidden = true;
    el.setAttribute("data-echarts-ready", "1");
    window.addEventListener("resize", function () { chart.resize(); });
  });
})();
