/* auditor serve: keyboard shortcuts for a fast pass, and the start time of a search hit.
   Seeking on a click of a quote or a time is report.js (the HTML report's own script). */
(function () {
  "use strict";
  var call = document.querySelector("article.call[data-call]");
  var player = call ? document.getElementById("audio-" + call.getAttribute("data-call")) : null;

  if (player && call.hasAttribute("data-start")) {
    var t = parseFloat(call.getAttribute("data-start"));
    var go = function () { player.currentTime = t; };
    if (player.readyState >= 1) { go(); } else { player.addEventListener("loadedmetadata", go, { once: true }); }
  }

  function follow(id) {
    var link = document.getElementById(id);
    if (link) { window.location.href = link.href; }
  }

  function nextQuote() {
    if (!player) { return; }
    var quotes = Array.prototype.slice.call(document.querySelectorAll("a.quote[data-t]"));
    quotes.sort(function (a, b) { return parseFloat(a.getAttribute("data-t")) - parseFloat(b.getAttribute("data-t")); });
    var now = player.currentTime + 0.5;
    var next = quotes.filter(function (q) { return parseFloat(q.getAttribute("data-t")) > now; })[0] || quotes[0];
    if (next) { next.click(); }
  }

  document.addEventListener("keydown", function (ev) {
    var tag = (ev.target && ev.target.tagName) || "";
    if (ev.ctrlKey || ev.metaKey || ev.altKey || /^(INPUT|TEXTAREA|SELECT|BUTTON)$/.test(tag)) { return; }
    if (ev.key === "j") { follow("next"); }
    else if (ev.key === "k") { follow("prev"); }
    else if (ev.key === "a") {
      var agree = document.getElementById("agree-form");
      var button = document.getElementById("agree");
      if (agree && button && !button.disabled) { agree.submit(); }
    }
    else if (ev.key === "n") { nextQuote(); }
    else if (ev.key === " " && player) {
      ev.preventDefault();
      if (player.paused) { player.play().catch(function () {}); } else { player.pause(); }
    } else { return; }
  });
})();
