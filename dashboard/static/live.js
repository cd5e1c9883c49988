// Live updates for the naq dashboard: the server's event stream says when
// something changed; the page then fetches itself again and swaps in the
// regions marked data-live-region. Job events are appended to #feed as text.
(function () {
  "use strict";
  var url = document.body.getAttribute("data-live");
  if (!url || !window.EventSource) { return; }
  var state = document.getElementById("live-state");
  var busy = false, again = false;

  function refresh() {
    if (busy) { again = true; return; }
    busy = true;
    fetch(location.href, { headers: { "X-Naq-Live": "1" }, credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        if (!html) { return; }
        var doc = new DOMParser().parseFromString(html, "text/html");
        document.querySelectorAll("[data-live-region]").forEach(function (el) {
          var fresh = doc.getElementById(el.id);
          if (fresh) { el.replaceWith(document.importNode(fresh, true)); }
        });
      })
      .catch(function () {})
      .then(function () {
        busy = false;
        if (again) { again = false; refresh(); }
      });
  }

  function addEvent(data) {
    var feed = document.getElementById("feed");
    if (!feed) { return; }
    var e;
    try { e = JSON.parse(data); } catch (err) { return; }
    var placeholder = feed.querySelector(".muted");
    if (placeholder) { placeholder.remove(); }
    var li = document.createElement("li");
    var t = new Date(e.timestamp);
    li.textContent = t.toLocaleTimeString() + "  " + e.event_type + "  " +
      (e.function || "") + "  " + (e.queue_name || "") + "  " + e.job_id +
      (e.error_message ? "  " + e.error_message : "");
    li.className = "ev-" + String(e.event_type).replace(/[^a-z_]/g, "");
    feed.insertBefore(li, feed.firstChild);
    while (feed.children.length > 25) { feed.removeChild(feed.lastChild); }
  }

  var es = new EventSource(url);
  es.addEventListener("open", function () { if (state) { state.className = "live-state on"; } });
  es.addEventListener("error", function () { if (state) { state.className = "live-state"; } });
  es.addEventListener("update", refresh);
  es.addEventListener("job", function (m) { addEvent(m.data); });
})();
