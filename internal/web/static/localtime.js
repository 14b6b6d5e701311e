// Times in the reader's time zone. Pages write every time in UTC inside
// <time datetime="RFC 3339">; this script rewrites each one's text with
// Intl.DateTimeFormat in the page's language (<html lang>) and the
// browser's time zone, and keeps the UTC text as the element's title. No
// inline script: the layout loads this file.
(function () {
  "use strict";
  if (typeof Intl === "undefined" || !Intl.DateTimeFormat) { return; }
  var lang = document.documentElement.lang || "en";
  var fmt;
  try {
    fmt = new Intl.DateTimeFormat(lang, { dateStyle: "medium", timeStyle: "short" });
  } catch (e) { return; }
  document.querySelectorAll("time[datetime]").forEach(function (el) {
    var d = new Date(el.getAttribute("datetime"));
    if (isNaN(d.getTime())) { return; }
    if (!el.title) { el.title = el.textContent; }
    el.textContent = fmt.format(d);
  });
})();
