// Confirmation before deleting or revoking, as a shortcut. Without this script every such
// button is a link to a page that asks, and holds the form that acts; with it, confirm()
// asks in place and the same form is posted from here.
"use strict";
(function () {
  function token() {
    var input = document.querySelector("input[name=csrf_token]");
    return input ? input.value : "";
  }
  // <a href=".../delete" data-confirm="Delete …?">: the page that asks answers POST too.
  document.querySelectorAll("a[data-confirm]").forEach(function (link) {
    link.addEventListener("click", function (event) {
      event.preventDefault();
      if (!window.confirm(link.getAttribute("data-confirm"))) { return; }
      var form = document.createElement("form");
      form.method = "post";
      form.action = link.href;
      var field = document.createElement("input");
      field.type = "hidden";
      field.name = "csrf_token";
      field.value = token();
      form.appendChild(field);
      document.body.appendChild(form);
      form.submit();
    });
  });
  // The bulk form: "Delete" asks here, and says so to the server (confirmed=yes).
  var bulk = document.querySelector("form[data-confirm-delete]");
  if (bulk) {
    bulk.addEventListener("submit", function (event) {
      if (bulk.elements.action.value !== "delete") { return; }
      var count = bulk.querySelectorAll("input[name=ids]:checked").length;
      if (!window.confirm("Delete " + count + " link" + (count === 1 ? "" : "s") + "? This cannot be undone.")) {
        event.preventDefault();
        return;
      }
      var field = document.createElement("input");
      field.type = "hidden";
      field.name = "confirmed";
      field.value = "yes";
      bulk.appendChild(field);
    });
    // "Select all on this page" as a checkbox in place of the link that reloads the page.
    var all = document.getElementById("select-page");
    var boxes = bulk.querySelectorAll("input[name=ids]");
    if (all) {
      all.hidden = false;
      all.checked = boxes.length > 0 && Array.prototype.every.call(boxes, function (b) { return b.checked; });
      all.addEventListener("change", function () {
        boxes.forEach(function (box) { box.checked = all.checked; });
      });
      boxes.forEach(function (box) {
        box.addEventListener("change", function () {
          all.checked = Array.prototype.every.call(boxes, function (b) { return b.checked; });
        });
      });
    }
  }
})();
