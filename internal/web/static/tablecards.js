// On a phone a table shows one card per row (style.css, "Phones"); this
// labels each cell with its column's heading (data-label, shown before the
// cell's content), so a card reads "Last used: 3 May". Without script the
// cards still stack, unlabelled; the headings stay for screen readers.
(function () {
  function label() {
    document.querySelectorAll('main table').forEach(function (table) {
      var head = table.tHead && table.tHead.rows[0];
      if (!head) return;
      var names = [];
      Array.prototype.forEach.call(head.cells, function (th) {
        for (var i = 0; i < (th.colSpan || 1); i++) names.push(th.textContent.trim());
      });
      Array.prototype.forEach.call(table.tBodies, function (body) {
        Array.prototype.forEach.call(body.rows, function (tr) {
          var col = 0;
          Array.prototype.forEach.call(tr.cells, function (cell) {
            if (!cell.hasAttribute('data-label') && names[col]) cell.setAttribute('data-label', names[col]);
            col += cell.colSpan || 1;
          });
        });
      });
    });
  }
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', label);
  else label();
})();
