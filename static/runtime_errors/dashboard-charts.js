/* The dashboard's charts: reports over time by level, stacked.
 *
 * The figures come from json_script blocks the page renders; the colours
 * are the level colours of staff.css, so that a chart and the alert stack
 * speak the same language.
 */
(function () {
  "use strict";

  if (typeof window.Chart !== "function") {
    return;
  }

  var palette = window.getComputedStyle(document.documentElement);

  function levelColour(level) {
    return palette.getPropertyValue("--" + level).trim() || "#6b7280";
  }

  function chartData(canvas) {
    var source = document.getElementById(canvas.dataset.chartSource);
    return source ? JSON.parse(source.textContent) : null;
  }

  function draw(canvas) {
    var figures = chartData(canvas);
    if (!figures) {
      return;
    }
    var datasets = figures.datasets.map(function (series) {
      return {
        label: series.label,
        data: series.data,
        backgroundColor: levelColour(series.level),
        borderWidth: 0
      };
    });
    new window.Chart(canvas, {
      type: "bar",
      data: {labels: figures.labels, datasets: datasets},
      options: {
        animation: false,
        maintainAspectRatio: false,
        interaction: {mode: "index", intersect: false},
        plugins: {legend: {position: "bottom", labels: {boxWidth: 12}}},
        scales: {
          x: {stacked: true, grid: {display: false}},
          y: {stacked: true, beginAtZero: true, ticks: {precision: 0}}
        }
      }
    });
  }

  document.querySelectorAll("canvas[data-chart-source]").forEach(draw);
}());
