// Copy button: a button with data-copy-from="ID" copies the text of the
// element #ID (one line per list item) to the clipboard and says so in
// the element #<button id>-status. The button is hidden until this file
// runs, so a page without JavaScript never shows a button that does
// nothing. Texts come from the page, in its language: data-copied and
// data-copy-failed.
(function () {
  "use strict";
  document.querySelectorAll("button[data-copy-from]").forEach(function (btn) {
    var from = document.getElementById(btn.getAttribute("data-copy-from"));
    var status = document.getElementById(btn.id + "-status");
    if (!from || !navigator.clipboard) { return; }
    btn.hidden = false;
    btn.addEventListener("click", function () {
      var items = from.querySelectorAll("li");
      var text = items.length ? Array.prototype.map.call(items, function (li) { return li.textContent.trim(); }).join("\n") : from.textContent.trim();
      navigator.clipboard.writeText(text + "\n").then(function () {
        if (status) { status.textContent = btn.getAttribute("data-copied") || ""; }
      }, function () {
        if (status) { status.textContent = btn.getAttribute("data-copy-failed") || ""; }
      });
    });
  });
})();
