/* Quote and timestamp links seek the call's audio player. No network, no libraries.
   With #selftest in the URL the page clicks the first quote and writes what happened
   (audio position, errors, what rendered) into #selftest-result, for headless tests. */
(function () {
  "use strict";
  var errors = [];
  window.addEventListener("error", function (e) { errors.push(String(e.message || e)); });
  window.addEventListener("unhandledrejection", function (e) {
    errors.push("unhandled rejection: " + String(e.reason));
  });

  function seek(audio, t) {
    var go = function () {
      try { audio.currentTime = t; } catch (err) { errors.push("seek: " + err); return; }
      var p = audio.play();
      if (p && typeof p.catch === "function") { p.catch(function () { /* autoplay blocked */ }); }
    };
    if (audio.readyState >= 1) { go(); return; }
    audio.preload = "auto";
    audio.addEventListener("loadedmetadata", go, { once: true });
    audio.load();
  }

  function flash(id) {
    var el = document.getElementById(id);
    if (!el) { return; }
    var box = el.closest("details");
    if (box) { box.open = true; }
    el.classList.add("flash");
    setTimeout(function () { el.classList.remove("flash"); }, 1500);
  }

  document.addEventListener("click", function (ev) {
    var link = ev.target.closest ? ev.target.closest("[data-t][data-call]") : null;
    if (!link) { return; }
    var audio = document.getElementById("audio-" + link.getAttribute("data-call"));
    if (!audio) { return; }
    ev.preventDefault();
    seek(audio, parseFloat(link.getAttribute("data-t")));
    var href = link.getAttribute("href") || "";
    if (href.charAt(0) === "#") { flash(href.slice(1)); }
  });

  function selftest() {
    var out = { errors: errors, clicked: false, done: false,
      charts: document.querySelectorAll("svg.chart").length,
      bars: document.querySelectorAll("svg.chart rect.bar").length,
      targetLine: document.querySelectorAll("svg.chart line.target").length,
      tables: document.querySelectorAll("table.data").length,
      tableRows: document.querySelectorAll("table.data tbody tr").length,
      calls: document.querySelectorAll("article.call").length,
      quotes: document.querySelectorAll("a.quote").length,
      scripts: document.scripts.length };
    var box = document.getElementById("selftest-result");
    var write = function () { box.hidden = false; box.textContent = JSON.stringify(out); };
    var quote = document.querySelector("a.quote");
    if (!quote) { out.done = true; write(); return; }
    var audio = document.getElementById("audio-" + quote.getAttribute("data-call"));
    out.expected = parseFloat(quote.getAttribute("data-t"));
    var finish = function (how) {
      if (out.done) { return; }
      out.done = true; out.how = how;
      out.currentTime = audio ? audio.currentTime : null;
      out.readyState = audio ? audio.readyState : null;
      write();
    };
    if (audio) {
      audio.addEventListener("seeked", function () { finish("seeked"); }, { once: true });
      audio.addEventListener("error", function () { finish("audio error"); }, { once: true });
    }
    quote.click();
    out.clicked = true;
    write();
    setTimeout(function () { finish("timeout"); }, 4000);
  }

  if (location.hash === "#selftest") {
    if (document.readyState === "complete") { selftest(); }
    else { window.addEventListener("load", selftest); }
  }
})();
