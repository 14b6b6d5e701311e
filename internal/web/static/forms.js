// Errors a person can see and fix. When the server shows a refused form
// again, its errors sit next to their fields (.field-error, and the
// password's list of reasons, ul.reasons). This file, loaded by the
// layout (no inline script), then:
//  - opens every <details> that holds an error, so no error is folded away;
//  - puts a summary at the top of the page (the heading comes from the
//    page, in its language: <main data-error-summary>), one link per
//    error that takes the focus to its field;
//  - moves the focus to the first field in error;
//  - clears a field's errors once the person changes the field, since
//    they described the old value (a stale red "too short" beside a
//    meter that now says "very strong" misleads).
// Without JavaScript the errors are still shown next to their fields and
// the server opens the form that failed.
(function () {
  "use strict";
  var main = document.querySelector("main");
  if (!main) { return; }
  var found = main.querySelectorAll(".field-error, ul.reasons");
  if (!found.length) { return; }
  var isControl = function (n) { return n && /^(INPUT|SELECT|TEXTAREA)$/.test(n.tagName) && n.type !== "hidden"; };

  // controlFor finds the field an error is about: the control that names
  // it in aria-describedby, else the nearest control before it.
  function controlFor(err) {
    if (err.id) {
      var named = document.querySelector('[aria-describedby~="' + err.id + '"]');
      if (isControl(named)) { return named; }
    }
    for (var n = err.previousElementSibling; n; n = n.previousElementSibling) {
      if (isControl(n)) { return n; }
      if (n.tagName === "LABEL" && isControl(n.control)) { return n.control; }
      var inner = n.querySelector && n.querySelector("input:not([type=hidden]), select, textarea");
      if (inner) { return inner; }
    }
    return null;
  }

  function labelOf(ctl) {
    var l = ctl.labels && ctl.labels[0];
    if (!l) { return ""; }
    var clone = l.cloneNode(true);
    clone.querySelectorAll(".optional, .visually-hidden").forEach(function (x) { x.remove(); });
    return clone.textContent.trim();
  }

  function textOf(err) {
    var items = err.querySelectorAll("li");
    if (!items.length) { return err.textContent.trim(); }
    return Array.prototype.map.call(items, function (li) { return li.textContent.trim(); }).join(" ");
  }

  var entries = [];
  found.forEach(function (err, i) {
    if (err.hidden || !textOf(err)) { return; }
    var ctl = controlFor(err);
    for (var d = err.parentElement; d; d = d.parentElement) {
      if (d.tagName === "DETAILS") { d.open = true; }
    }
    if (!ctl) { return; }
    if (!err.id) { err.id = "field-error-" + i; }
    var described = (ctl.getAttribute("aria-describedby") || "").split(/\s+/).filter(Boolean);
    if (described.indexOf(err.id) < 0) { described.push(err.id); }
    ctl.setAttribute("aria-describedby", described.join(" "));
    ctl.setAttribute("aria-invalid", "true");
    if (!ctl.id) { ctl.id = "field-" + i; }
    entries.push({ err: err, ctl: ctl });
  });
  if (!entries.length) { return; }

  var box = document.createElement("div");
  box.className = "error-summary";
  box.id = "error-summary";
  box.setAttribute("role", "alert");
  var heading = document.createElement("h2");
  heading.textContent = main.getAttribute("data-error-summary") || "";
  box.appendChild(heading);
  var list = document.createElement("ul");
  box.appendChild(list);
  entries.forEach(function (e) {
    var li = document.createElement("li");
    var a = document.createElement("a");
    var label = labelOf(e.ctl);
    a.href = "#" + e.ctl.id;
    a.textContent = (label ? label + ": " : "") + textOf(e.err);
    a.addEventListener("click", function (ev) {
      ev.preventDefault();
      e.ctl.focus();
      e.ctl.scrollIntoView({ block: "center" });
    });
    li.appendChild(a);
    list.appendChild(li);
    e.item = li;
  });
  var h1 = main.querySelector("h1");
  if (h1) { h1.insertAdjacentElement("afterend", box); } else { main.insertBefore(box, main.firstChild); }

  // Clear a field's errors once it changes.
  entries.forEach(function (e) {
    var clear = function () {
      e.err.hidden = true;
      if (e.item && e.item.parentNode) { e.item.parentNode.removeChild(e.item); }
      var left = (e.ctl.getAttribute("aria-describedby") || "").split(/\s+/).filter(function (id) { return id && id !== e.err.id; });
      if (left.length) { e.ctl.setAttribute("aria-describedby", left.join(" ")); } else { e.ctl.removeAttribute("aria-describedby"); }
      if (!entries.some(function (o) { return o.ctl === e.ctl && !o.err.hidden; })) { e.ctl.removeAttribute("aria-invalid"); }
      if (!list.children.length && box.parentNode) { box.parentNode.removeChild(box); }
    };
    e.ctl.addEventListener("input", clear, { once: true });
    e.ctl.addEventListener("change", clear, { once: true });
  });

  entries[0].ctl.focus();
})();
