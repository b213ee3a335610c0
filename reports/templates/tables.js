// Sortable, filterable tables. The page reads fully without this script: it only adds a sort
// button to each column header and a filter box above tables with more than a few rows.
(function () {
  "use strict";
  function key(cell) {
    var text = (cell.getAttribute("data-sort") || cell.textContent || "").trim();
    var n = parseFloat(text.replace(/[,\u00d7x%+]/g, "").replace("\u2212", "-"));
    return isNaN(n) ? text.toLowerCase() : n;
  }
  function sortBy(table, column, th) {
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    var down = th.getAttribute("aria-sort") !== "descending";
    Array.prototype.forEach.call(th.parentNode.children, function (h) {
      h.removeAttribute("aria-sort");
    });
    th.setAttribute("aria-sort", down ? "descending" : "ascending");
    rows.sort(function (a, b) {
      var x = key(a.cells[column] || a), y = key(b.cells[column] || b);
      if (typeof x !== typeof y) { x = String(x); y = String(y); }
      var order = x < y ? -1 : x > y ? 1 : 0;
      return down ? -order : order;
    });
    rows.forEach(function (r) { body.appendChild(r); });
  }
  Array.prototype.forEach.call(document.querySelectorAll("table.data"), function (table) {
    var head = table.tHead;
    if (!head || !table.tBodies.length) { return; }
    Array.prototype.forEach.call(head.rows[0].cells, function (th, column) {
      if (!th.textContent.trim()) { return; }
      var button = document.createElement("button");
      button.type = "button";
      button.className = "sort";
      button.textContent = th.textContent;
      button.title = "sort by this column";
      th.textContent = "";
      th.appendChild(button);
      button.addEventListener("click", function () { sortBy(table, column, th); });
    });
    if (table.tBodies[0].rows.length > 8) {
      var box = document.createElement("input");
      box.type = "search";
      box.className = "filter";
      box.placeholder = "filter rows";
      box.setAttribute("aria-label", "filter the rows of this table");
      box.addEventListener("input", function () {
        var q = box.value.toLowerCase();
        Array.prototype.forEach.call(table.tBodies[0].rows, function (r) {
          r.hidden = q !== "" && r.textContent.toLowerCase().indexOf(q) < 0;
        });
      });
      table.parentNode.insertBefore(box, table);
    }
  });
})();
