// Keyboard shortcuts and "propose the selected text as a term". No inline handlers (the CSP forbids them);
// text from the case is only ever read via textContent / selection strings, never written as HTML.
(function () {
  "use strict";

  function submit(id) {
    var el = document.getElementById(id);
    if (!el) return false;
    if (el.tagName === "FORM") { el.requestSubmit(); } else { el.click(); }
    return true;
  }

  document.addEventListener("keydown", function (ev) {
    var t = ev.target;
    if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
    if (t && (t.tagName === "INPUT" || t.tagName === "TEXTAREA" || t.tagName === "SELECT" || t.isContentEditable)) return;
    switch (ev.key) {
      case "n": submit("next-form"); break;
      case "c": submit("btn-confirm"); break;
      case "e": submit("btn-escalate"); break;
      case "r": submit("release-form"); break;
      case "s": var link = document.getElementById("snapshot-link"); if (link) link.click(); break;
      case "d":
        var reason = document.getElementById("reason");
        if (reason && reason.value) { submit("btn-dismiss"); } else if (reason) { reason.focus(); ev.preventDefault(); }
        break;
      default: return;
    }
  });

  var text = document.getElementById("case-text");
  var term = document.getElementById("propose-term");
  if (text && term) {
    text.addEventListener("mouseup", function () {
      var sel = window.getSelection ? String(window.getSelection()).trim() : "";
      if (sel && sel.length <= 60) { term.value = sel; }
    });
  }

  var all = document.getElementById("check-all");
  if (all) {
    all.addEventListener("change", function () {
      document.querySelectorAll("input[name=flag_id]").forEach(function (cb) { cb.checked = all.checked; });
    });
  }
})();
