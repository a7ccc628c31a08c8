// Copy-to-clipboard for the short URL buttons. The pages work without it: the buttons are
// hidden until this script runs, and the URL is always shown as a link.
"use strict";
document.querySelectorAll("[data-copy]").forEach(function (button) {
  button.hidden = false;
  button.addEventListener("click", function () {
    var text = button.getAttribute("data-copy");
    var done = function () {
      var label = button.textContent;
      button.textContent = "Copied";
      button.setAttribute("aria-live", "polite");
      setTimeout(function () { button.textContent = label; }, 1500);
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done, function () { fallback(text); done(); });
    } else {
      fallback(text);
      done();
    }
  });
});
function fallback(text) {
  var area = document.createElement("textarea");
  area.value = text;
  area.setAttribute("readonly", "");
  area.className = "visually-hidden";
  document.body.appendChild(area);
  area.select();
  try { document.execCommand("copy"); } catch (e) { /* nothing more to try */ }
  document.body.removeChild(area);
}
// Show the custom date inputs only when "custom" is the chosen window.
document.querySelectorAll("select[data-window]").forEach(function (select) {
  var custom = document.querySelectorAll("[data-custom-window]");
  var sync = function () {
    custom.forEach(function (el) { el.hidden = select.value !== "custom"; });
  };
  select.addEventListener("change", sync);
  sync();
});
// The live feed on a link's page: the all-time total and "Latest visits" follow the clicks as
// they are written (Server-Sent Events). Without this script the page shows them as loaded.
(function () {
  var list = document.getElementById("live-visits");
  var kpi = document.getElementById("live-total");
  var total = kpi && kpi.querySelector(".value");
  if (!list || !total || !window.EventSource) { return; }
  var status = document.getElementById("live-status");
  var limit = parseInt(list.getAttribute("data-limit"), 10) || 20;
  var shown = parseInt(kpi.getAttribute("data-value"), 10) || 0;
  var months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
  var two = function (n) { return (n < 10 ? "0" : "") + n; };
  var setStatus = function (text, on) {
    status.textContent = text;
    status.classList.toggle("is-off", !on);
    status.hidden = false;
  };
  // The same markup as templates/_visits.html, built with textContent (no HTML from events).
  var item = function (v) {
    var at = new Date(v.t);
    var li = document.createElement("li");
    li.className = "visit";
    var time = document.createElement("time");
    time.setAttribute("datetime", v.t);
    time.textContent = months[at.getUTCMonth()] + " " + at.getUTCDate() + ", " +
      two(at.getUTCHours()) + ":" + two(at.getUTCMinutes()) + ":" + two(at.getUTCSeconds());
    var what = document.createElement("span");
    what.className = "visit-what";
    what.textContent = (v.country || "Unknown country") + " · " + (v.device || "other") + " · " +
      (v.browser || "Unknown browser") + (v.os ? " on " + v.os : "") + " · " +
      (v.referrer ? "from " + v.referrer : "direct");
    li.appendChild(time);
    li.appendChild(document.createTextNode(" "));
    li.appendChild(what);
    if (v.bot) {
      var badge = document.createElement("span");
      badge.className = "badge";
      badge.textContent = "bot";
      li.appendChild(document.createTextNode(" "));
      li.appendChild(badge);
    }
    return li;
  };
  var source = new EventSource(list.getAttribute("data-live"));
  source.addEventListener("open", function () { setStatus("live", true); });
  // EventSource reconnects by itself (after the server's retry: delay) unless it was refused.
  source.addEventListener("error", function () {
    setStatus(source.readyState === EventSource.CLOSED ? "offline" : "reconnecting", false);
  });
  source.addEventListener("clicks", function (event) {
    var data = JSON.parse(event.data);
    // Workers publish independently, so an older total can arrive after a newer one.
    if (data.total_clicks > shown) {
      shown = data.total_clicks;
      total.textContent = shown.toLocaleString("en-US");
      kpi.setAttribute("data-value", String(shown));
    }
    if (!data.visits.length) { return; }
    var empty = list.querySelector(".visits-empty");
    if (empty) { list.removeChild(empty); }
    for (var i = data.visits.length - 1; i >= 0; i--) {
      list.insertBefore(item(data.visits[i]), list.firstChild);
    }
    while (list.children.length > limit) { list.removeChild(list.lastChild); }
  });
})();
