// Small progressive enhancements shared by every page (the CSP forbids inline handlers, so they live here).
(function () {
  "use strict";
  // <form data-confirm="Question?">: ask before a destructive or sticky action; cancel keeps the page as is.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form && form.getAttribute && form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
    }
  }, true);
  // <input type="range" data-mirror="ID">: keep a slider and its number field in step (both ways).
  document.addEventListener("input", function (event) {
    var el = event.target;
    if (!el || !el.getAttribute) { return; }
    var target = el.getAttribute("data-mirror");
    if (target) {
      var box = document.getElementById(target);
      if (box) { box.value = el.value; }
    } else if (el.id && el.classList && el.classList.contains("weight-number")) {
      var slider = document.querySelector('[data-mirror="' + el.id + '"]');
      if (slider) { slider.value = el.value; }
    }
  });
  // <select data-autosubmit>: apply a filter as soon as it changes.
  document.addEventListener("change", function (event) {
    var el = event.target;
    if (el && el.hasAttribute && el.hasAttribute("data-autosubmit") && el.form) {
      el.form.requestSubmit ? el.form.requestSubmit() : el.form.submit();
    }
  });
})();
// <code class="secret">…</code><button data-copy hidden>Copy</button>: a secret shown once. The button
// appears (it needs this script), takes the keyboard focus and copies the secret; the secret is selected too,
// so Ctrl+C works as well. navigator.clipboard needs a secure context: elsewhere the selection is copied.
(function () {
  "use strict";
  function secretOf(button) {
    var el = button.previousElementSibling;
    return el && el.classList.contains("secret") ? el : null;
  }
  function select(el) {
    var range = document.createRange();
    range.selectNodeContents(el);
    var sel = window.getSelection();
    sel.removeAllRanges();
    sel.addRange(range);
  }
  function said(button, text) {
    button.textContent = text;
    window.setTimeout(function () { button.textContent = "Copy"; }, 4000);
  }
  document.addEventListener("click", function (event) {
    var button = event.target && event.target.closest && event.target.closest("button[data-copy]");
    var secret = button && secretOf(button);
    if (!secret) { return; }
    var text = secret.textContent.trim();
    function fallback() {
      select(secret);
      var ok = false;
      try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
      said(button, ok ? "Copied" : "Press Ctrl+C to copy");
    }
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(function () { said(button, "Copied"); }, fallback);
    } else {
      fallback();
    }
  });
  function ready() {
    var buttons = document.querySelectorAll("button[data-copy]");
    for (var i = 0; i < buttons.length; i++) {
      if (secretOf(buttons[i])) { buttons[i].hidden = false; }
    }
    var first = buttons.length ? buttons[0] : null;
    if (first && secretOf(first)) {
      select(secretOf(first));
      first.focus();
    }
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", ready);
  } else {
    ready();
  }
})();

// <section data-replace-url="/invite">: a page opened by a link that carries a secret in its path (an
// invitation) shows the plain URL instead, so the secret leaves the address bar and the history.
(function () {
  var el = document.querySelector("[data-replace-url]");
  if (el && window.history && window.history.replaceState) {
    window.history.replaceState(null, "", el.getAttribute("data-replace-url"));
  }
})();
