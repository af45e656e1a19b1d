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
