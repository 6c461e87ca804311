// Keyboard-first review, in-place form checks and "propose the selected text as a term".
// No inline handlers (the CSP forbids them); text from the case is only ever read via textContent / selection
// strings, never written as HTML.
//
// Keys work everywhere except while typing in a text field: n next (resume own claim, release the one left),
// c confirm, d dismiss then 1–6 the reason, e escalate, r release, s snapshot, / search, Esc cancel.
(function () {
  "use strict";

  var TEXT_TYPES = ["text", "search", "number", "date", "email", "password", "url", "tel", "datetime-local", "month", "week", "time"];

  function typing(t) {
    if (!t) return false;
    if (t.isContentEditable || t.tagName === "TEXTAREA") return true;
    return t.tagName === "INPUT" && TEXT_TYPES.indexOf((t.getAttribute("type") || "text").toLowerCase()) >= 0;
  }

  function byId(id) { return document.getElementById(id); }

  function submit(id) {
    var el = byId(id);
    if (!el) return false;
    if (el.tagName === "FORM") { el.requestSubmit(); } else { el.click(); }
    return true;
  }

  var reasons = byId("reasons");
  var reasonError = byId("reason-error");
  var picking = false;

  function reasonChosen() {
    return !!document.querySelector("#decide-form input[name=reason]:checked");
  }

  function startPicking() {
    if (!reasons) return;
    picking = true;
    reasons.classList.add("picking");
    if (reasonError) reasonError.hidden = false;
    reasons.scrollIntoView({ block: "nearest" });
  }

  function stopPicking() {
    picking = false;
    if (reasons) reasons.classList.remove("picking");
  }

  function pickReason(digit) {
    var radio = document.querySelector('#decide-form input[name=reason][data-key="' + digit + '"]');
    if (!radio) return false;
    radio.checked = true;
    stopPicking();
    if (reasonError) reasonError.hidden = true;
    submit("btn-dismiss");
    return true;
  }

  // 排除 without a reason: say so in place (Chinese), keep what was typed, and wait for 1–6
  var decideForm = byId("decide-form");
  if (decideForm) {
    decideForm.addEventListener("submit", function (ev) {
      var by = ev.submitter;
      if (by && by.value === "dismiss" && !reasonChosen()) {
        ev.preventDefault();
        startPicking();
      }
    });
    decideForm.addEventListener("change", function (ev) {
      if (ev.target && ev.target.name === "reason" && reasonError) reasonError.hidden = true;
    });
  }

  document.addEventListener("keydown", function (ev) {
    if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
    if (typing(ev.target)) {
      if (ev.key === "Escape" && ev.target.blur) ev.target.blur();
      return;
    }
    if (picking) {
      if (ev.key >= "1" && ev.key <= "9") {
        if (pickReason(ev.key)) ev.preventDefault();
        return;
      }
      if (ev.key === "Escape") { stopPicking(); ev.preventDefault(); return; }
    }
    switch (ev.key) {
      case "n": submit("next-form"); break;
      case "c": submit("btn-confirm"); break;
      case "e": submit("btn-escalate"); break;
      case "r": submit("release-form"); break;
      case "s": var link = byId("snapshot-link"); if (link) link.click(); break;
      case "/": var q = byId("q"); if (q) { q.focus(); } else { return; } break;
      case "d":
        if (!byId("btn-dismiss")) return;
        if (reasonChosen()) { submit("btn-dismiss"); } else { startPicking(); }
        break;
      default: return;
    }
    ev.preventDefault();
  });

  var text = byId("case-text");
  var term = byId("propose-term");
  if (text && term) {
    text.addEventListener("mouseup", function () {
      var sel = window.getSelection ? String(window.getSelection()).trim() : "";
      if (sel && sel.length <= 60) { term.value = sel; }
    });
  }

  var all = byId("check-all");
  if (all) {
    all.addEventListener("change", function () {
      document.querySelectorAll("input[name=flag_id]").forEach(function (cb) { cb.checked = all.checked; });
    });
  }

  // bulk: the reason list only for dismissals, the colleague list only for assignment
  var bulkAction = byId("bulk-action");
  function bulkFields() {
    var r = byId("bulk-reason"), c = byId("bulk-colleague");
    if (r) r.hidden = bulkAction.value !== "dismiss";
    if (c) c.hidden = bulkAction.value !== "assign";
  }
  if (bulkAction) { bulkAction.addEventListener("change", bulkFields); bulkFields(); }

  // an approval's background rescore: poll its progress (same origin, JSON)
  var job = byId("job-progress");
  if (job && job.dataset.job) {
    var bar = job.querySelector("progress"), label = job.querySelector(".job-label");
    var poll = function () {
      fetch("/api/v1/lexicon/jobs/" + encodeURIComponent(job.dataset.job), { credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (j) {
          if (!j) return;
          bar.max = Math.max(j.total, 1); bar.value = j.total ? j.done : 1;
          label.textContent = j.status === "done" ? "重新评分完成（" + j.done + "/" + j.total + "）"
            : j.status === "failed" ? "重新评分失败：" + (j.error || "")
            : "正在重新评分：" + j.done + "/" + j.total;
          if (j.status === "running") setTimeout(poll, 1000);
        });
    };
    poll();
  }
})();
