// The dashboard's one script, an enhancement only: every page works without it.
// - Refreshes the figures every 60 s while the page is visible (not on forms), by fetching
//   the same URL and swapping <main> and the freshness stamp; says so when it cannot.
// - Submits the group filter when it changes.
"use strict";
(function () {
  var PERIOD = 60000;
  function note(text) {
    var el = document.querySelector("#freshness .refresh-note");
    if (!el) return;
    el.textContent = text;
    el.hidden = !text;
  }
  function refresh() {
    if (document.visibilityState !== "visible") return;
    fetch(location.href, { headers: { Accept: "text/html" }, credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.text();
      })
      .then(function (html) {
        var fresh = new DOMParser().parseFromString(html, "text/html");
        ["main", "#freshness"].forEach(function (selector) {
          var next = fresh.querySelector(selector);
          var current = document.querySelector(selector);
          if (next && current) current.replaceWith(document.importNode(next, true));
        });
        wire();
      })
      .catch(function (error) {
        note("· could not refresh (" + error.message + "): figures may be stale");
        var stamp = document.getElementById("freshness");
        if (stamp) stamp.classList.add("stale");
      });
  }
  function wire() {
    document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
      select.addEventListener("change", function () { select.form.submit(); });
      // The button is for browsers without this script; here the choice applies at once.
      var button = select.form.querySelector("button[type=submit]");
      if (button) button.hidden = true;
    });
  }
  document.addEventListener("DOMContentLoaded", function () {
    wire();
    if (document.body.hasAttribute("data-norefresh")) return;
    setInterval(refresh, PERIOD);
    document.addEventListener("visibilitychange", function () {
      if (document.visibilityState === "visible") refresh();
    });
  });
})();
