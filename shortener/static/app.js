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
// The CSV import: the file is posted from here, so the page can show the upload's progress,
// and the answer (NDJSON, see shortener/web/transfer_pages.py) is read as it arrives: the rows
// read so far, then the summary. Without this script the form posts as usual.
document.querySelectorAll("form[data-import]").forEach(function (form) {
  var input = form.querySelector("input[type=file]");
  var button = form.querySelector("button[type=submit]");
  var box = document.getElementById("import-progress-box");
  var bar = document.getElementById("import-progress");
  var status = document.getElementById("import-status");
  var failed = document.getElementById("import-failed");
  var result = document.getElementById("import-result");
  var number = function (n) { return n.toLocaleString("en-US"); };
  var show = function (value, max, text) {
    bar.max = Math.max(max, value, 1);
    bar.value = value;
    status.textContent = text;
  };
  var fieldError = function (message) {
    var p = document.getElementById("file-error");
    if (!p) {
      p = document.createElement("p");
      p.id = "file-error";
      p.className = "field-error";
      input.insertAdjacentElement("afterend", p);
    }
    p.textContent = message;
    p.hidden = !message;
    input.setAttribute("aria-describedby", message ? "file-error file-hint" : "file-hint");
    if (message) { input.setAttribute("aria-invalid", "true"); } else { input.removeAttribute("aria-invalid"); }
  };
  var fail = function (message) {
    box.hidden = true;
    failed.textContent = message;
    failed.hidden = false;
  };

  // The server refuses a file over IMPORT_MAX_BYTES (413); say so before uploading it.
  var maxBytes = Number(input.dataset.maxBytes || 0);
  var size = function (n) {  // as size_text in shortener/middleware.py
    return n >= 1048576 ? String(Math.round(n / 1048576 * 10) / 10) + " MB" : String(Math.round(n / 1024)) + " KB";
  };
  var tooBig = function () {
    var file = input.files[0];
    if (!file || !maxBytes || file.size <= maxBytes) { return ""; }
    return "This file is " + size(file.size) + "; the import limit is " + size(maxBytes) +
      ". Split it into smaller files (each with the header row) and import them one by one, " +
      "or ask the operator to import it with `shortener import FILE.csv` or to raise IMPORT_MAX_BYTES.";
  };
  input.addEventListener("change", function () { fieldError(tooBig()); });

  form.addEventListener("submit", function (event) {
    if (!input.files.length) { return; }
    event.preventDefault();
    if (tooBig()) { fieldError(tooBig()); input.focus(); return; }
    var name = input.files[0].name;
    var xhr = new XMLHttpRequest();
    var seen = 0;
    var finished = false;
    var handle = function (line) {
      var data = JSON.parse(line);
      if (data.event === "start") {
        show(0, data.total, "Importing " + number(data.total) + " rows (" + data.format + " format)…");
      } else if (data.event === "progress") {
        show(data.rows, data.total, "Read " + number(data.rows) + " of " + number(data.total) + " rows…");
      } else if (data.event === "done") {
        finished = true;
        show(Math.max(data.rows, 1), data.rows, "Done: " + number(data.rows) + " rows read.");
        result.innerHTML = data.html;
        form.reset();
      }
    };
    // responseText grows as lines arrive; handle the complete ones not seen yet.
    var read = function () {
      var text = xhr.responseText;
      var end = text.lastIndexOf("\n");
      if (end < seen) { return; }
      text.slice(seen, end).split("\n").forEach(function (line) { if (line) { handle(line); } });
      seen = end + 1;
    };

    fieldError("");
    failed.hidden = true;
    result.innerHTML = "";
    box.hidden = false;
    button.disabled = true;
    show(0, 1, "Uploading " + name + "…");
    xhr.upload.addEventListener("progress", function (e) {
      if (e.lengthComputable) {
        show(e.loaded, e.total, "Uploading " + name + "… " + Math.floor(100 * e.loaded / e.total) + "%");
      }
    });
    xhr.upload.addEventListener("load", function () {
      bar.removeAttribute("value");  // indeterminate while the server reads the file
      status.textContent = "Reading " + name + "…";
    });
    xhr.addEventListener("progress", function () { if (xhr.status === 200) { read(); } });
    xhr.addEventListener("load", function () {
      button.disabled = false;
      if (xhr.status === 200) {
        read();
        if (!finished) { fail("The import stopped before it finished, so nothing was imported. Please try again."); }
        return;
      }
      var detail = null;
      try { detail = JSON.parse(xhr.responseText).detail; } catch (e) { /* not JSON */ }
      if (Array.isArray(detail) && detail.length) {
        box.hidden = true;
        fieldError(String(detail[0].msg));
      } else {
        fail("The import failed: " + (typeof detail === "string" ? detail : "the server answered " + xhr.status) + ".");
      }
    });
    xhr.addEventListener("error", function () {
      button.disabled = false;
      fail("The connection was lost. If the file was sent whole, the import completes anyway: see your links in a moment.");
    });
    xhr.open("POST", form.action);
    xhr.setRequestHeader("Accept", "application/x-ndjson");
    xhr.send(new FormData(form));
  });
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
    what.textContent = (v.country_name || v.country || "Unknown country") + " · " + (v.device || "other") + " · " +
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
