// Expiry in the browser's time zone. A datetime-local input marked data-utc is the server's
// field in UTC: without this script the form says "(UTC)" and sends what was typed. With it,
// the input shows and takes local time, its label names the zone, and a hidden field of the
// same name sends the moment as UTC (ISO 8601 with Z), which is what the server stores.
"use strict";
document.querySelectorAll("input[type=datetime-local][data-utc]").forEach(function (input) {
  var zone = Intl.DateTimeFormat().resolvedOptions().timeZone || "local time";
  var hidden = document.createElement("input");
  hidden.type = "hidden";
  hidden.name = input.name;
  input.removeAttribute("name");
  input.insertAdjacentElement("afterend", hidden);
  var pad = function (n) { return String(n).padStart(2, "0"); };
  // The server's value: "YYYY-MM-DDTHH:MM" in UTC, or the ISO string this script sent.
  var given = input.getAttribute("value") || "";
  if (given) {
    var moment = new Date(/[zZ]|[+-]\d\d:\d\d$/.test(given) ? given : given + "Z");
    if (!isNaN(moment)) {
      input.value = moment.getFullYear() + "-" + pad(moment.getMonth() + 1) + "-" +
        pad(moment.getDate()) + "T" + pad(moment.getHours()) + ":" + pad(moment.getMinutes());
    }
  }
  var sync = function () {
    // Without a zone, Date reads "YYYY-MM-DDTHH:MM" as local time.
    var local = input.value ? new Date(input.value) : null;
    hidden.value = local && !isNaN(local) ? local.toISOString() : input.value;
  };
  input.addEventListener("input", sync);
  input.addEventListener("change", sync);
  if (input.form) { input.form.addEventListener("submit", sync); }
  sync();
  var label = document.querySelector('label[for="' + input.id + '"]');
  if (label && label.firstChild && label.firstChild.nodeType === Node.TEXT_NODE) {
    label.firstChild.textContent = label.firstChild.textContent.replace("(UTC)", "(" + zone + ")");
  }
  input.setAttribute("data-zone", zone);
});
