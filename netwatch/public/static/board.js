// Auto-refresh where JavaScript runs: fetch this page again every minute while it is visible
// and swap the main content when its data revision changed. Without JavaScript the page
// works the same, just without refreshing itself.
(function () {
  "use strict";
  var main = document.querySelector("main[data-rev]");
  if (!main || !window.fetch || !window.DOMParser) return;
  var period = 1000 * (parseInt(main.getAttribute("data-refresh"), 10) || 60);
  function refresh() {
    if (document.hidden) return;
    fetch(location.href, { cache: "no-cache", credentials: "omit" })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (text) {
        if (!text) return;
        var doc = new DOMParser().parseFromString(text, "text/html");
        var fresh = doc.querySelector("main[data-rev]");
        if (!fresh || fresh.getAttribute("data-rev") === main.getAttribute("data-rev")) return;
        var focused = document.activeElement && document.activeElement.id;
        main.innerHTML = fresh.innerHTML;
        main.setAttribute("data-rev", fresh.getAttribute("data-rev"));
        var foot = doc.querySelector("footer"), here = document.querySelector("footer");
        if (foot && here) here.innerHTML = foot.innerHTML;
        if (focused && document.getElementById(focused)) document.getElementById(focused).focus();
      })
      .catch(function () {});
  }
  setInterval(refresh, period);
  document.addEventListener("visibilitychange", function () { if (!document.hidden) refresh(); });
})();
