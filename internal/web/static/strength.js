// Live password strength meter. An input with data-strength-meter="ID"
// gets the meter element #ID filled in from POST /api/v1/password/check:
// the same policy the server applies, so the meter never disagrees with the
// answer to the form. No inline script: the page loads this file. The
// labels come from the page, in its language: data-labels (the five
// strengths, separated by "|") and data-not-accepted on the meter element.
// From a keystroke until the answer for the latest value is shown, the
// meter is aria-busy="true": assistive technology waits for the update
// rather than reading a stale meter, and so do the browser tests before
// they click (the meter's reasons and tips move what is below it).
(function () {
  "use strict";
  function fill(list, items) {
    while (list.firstChild) { list.removeChild(list.firstChild); }
    (items || []).forEach(function (text) {
      var li = document.createElement("li");
      li.textContent = text;
      list.appendChild(li);
    });
  }
  document.querySelectorAll("input[data-strength-meter]").forEach(function (input) {
    var box = document.getElementById(input.getAttribute("data-strength-meter"));
    if (!box) { return; }
    var meter = box.querySelector("meter");
    var label = box.querySelector(".meter-label");
    var reasons = box.querySelector(".meter-reasons");
    var tips = box.querySelector(".meter-tips");
    var labels = (box.getAttribute("data-labels") || "").split("|");
    var notAccepted = box.getAttribute("data-not-accepted") || "";
    var timer = null;
    var seq = 0;
    function settled() { box.setAttribute("aria-busy", "false"); }
    function check() {
      var pw = input.value;
      if (!pw) { box.hidden = true; settled(); return; }
      var mine = seq;
      var body = { password: pw };
      var email = document.getElementById("email");
      if (email && email.value) { body.email = email.value; }
      var biz = document.getElementById("business_name");
      if (biz && biz.value) { body.business_name = biz.value; }
      fetch("/api/v1/password/check", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        credentials: "same-origin",
        body: JSON.stringify(body)
      }).then(function (r) { return r.ok ? r.json() : null; }).then(function (res) {
        if (mine !== seq) { return; } // typed since: a newer check is due
        settled();
        if (!res) { return; }
        box.hidden = false;
        meter.value = res.score;
        label.textContent = (res.accepted ? "" : notAccepted + " ") + (labels[res.score] || "");
        fill(reasons, (res.reasons || []).map(function (x) { return x.message; }));
        fill(tips, res.score >= 3 ? [] : res.tips); // advice only while it is weak
      }).catch(function () {
        if (mine !== seq) { return; }
        box.hidden = true;
        settled();
      });
    }
    input.addEventListener("input", function () {
      box.setAttribute("aria-busy", "true");
      seq++; // an answer on its way is for an older value now
      clearTimeout(timer);
      timer = setTimeout(check, 250);
    });
  });
})();
