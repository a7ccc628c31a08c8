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
