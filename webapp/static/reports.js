/* Report charts: each [data-chart] element draws the ECharts option kept as JSON in the script it names.
   SVG rendering, so the printed report is sharp; charts follow the container's width and the print layout. */
(function () {
  "use strict";

  function draw() {
    if (!window.echarts) { return; }
    var charts = [];
    document.querySelectorAll("[data-chart]").forEach(function (element) {
      var source = document.getElementById(element.getAttribute("data-chart"));
      if (!source) { return; }
      var chart = window.echarts.init(element, null, { renderer: "svg" });
      chart.setOption(JSON.parse(source.textContent));
      charts.push(chart);
    });
    function resize() { charts.forEach(function (chart) { chart.resize(); }); }
    window.addEventListener("resize", resize);
    window.addEventListener("beforeprint", resize);
    window.addEventListener("afterprint", resize);
  }

  document.querySelectorAll("[data-print]").forEach(function (button) {
    button.addEventListener("click", function () { window.print(); });
  });
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
