// Chart values on hover and on keyboard focus. Every value drawn is a `.point` with its text in
// data-tip (and in aria-label for screen readers, and in a <title>: the tooltip without this
// script). This shows data-tip in one tooltip in CSS pixels, so it stays readable however small
// a chart is drawn, and moves through a time chart's values with the arrow keys (one tab stop).
"use strict";
(function () {
  var tip = document.createElement("div");
  tip.className = "chart-tip";
  tip.setAttribute("aria-hidden", "true"); // the focused point's aria-label is what is read
  tip.hidden = true;
  document.body.appendChild(tip);
  // The native <title> tooltip would show the same text a second time.
  document.querySelectorAll(".point > title").forEach(function (title) { title.remove(); });

  function show(point) {
    tip.textContent = point.getAttribute("data-tip");
    tip.hidden = false;
    var box = point.getBoundingClientRect();
    var room = document.documentElement.clientWidth;
    var x = box.left + box.width / 2 - tip.offsetWidth / 2;
    var y = box.top - tip.offsetHeight - 8;
    if (y < 4) { y = box.bottom + 8; }
    tip.style.left = Math.max(4, Math.min(x, room - tip.offsetWidth - 4)) + window.scrollX + "px";
    tip.style.top = y + window.scrollY + "px";
  }
  function hide() { tip.hidden = true; }
  function pointOf(target) {
    return target instanceof Element ? target.closest(".point[data-tip]") : null;
  }
  document.addEventListener("mouseover", function (event) {
    var point = pointOf(event.target);
    if (point) { show(point); } else if (!pointOf(document.activeElement)) { hide(); }
  });
  document.addEventListener("focusin", function (event) {
    var point = pointOf(event.target);
    if (point) { show(point); } else { hide(); }
  });
  document.addEventListener("focusout", hide);
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape") { hide(); }
  });
  document.querySelectorAll("svg[data-roving]").forEach(function (chart) {
    chart.addEventListener("keydown", function (event) {
      var points = Array.prototype.slice.call(chart.querySelectorAll(".point"));
      if (!points.length) { return; }
      var at = points.indexOf(document.activeElement);
      var next = {
        ArrowRight: at + 1, ArrowDown: at + 1, ArrowLeft: at < 0 ? points.length - 1 : at - 1,
        ArrowUp: at < 0 ? points.length - 1 : at - 1, Home: 0, End: points.length - 1
      }[event.key];
      if (next === undefined) { return; }
      event.preventDefault();
      points[Math.max(0, Math.min(next, points.length - 1))].focus();
    });
  });
})();
