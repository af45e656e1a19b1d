/* Poll the install run and update the step list until it finishes. */
(function () {
  "use strict";
  var box = document.getElementById("progress");
  if (!box) { return; }
  var url = box.getAttribute("data-url");
  function render(run) {
    var steps = (run.report && run.report.steps) || {};
    Object.keys(steps).forEach(function (name) {
      var li = document.getElementById("step-" + name);
      if (!li) { return; }
      var st = steps[name].state || "waiting";
      li.className = "step step-" + st;
      li.querySelector(".state").textContent = st;
      li.querySelector(".msg").textContent = steps[name].message || "";
    });
    var status = document.getElementById("run-status");
    status.textContent = run.status;
    status.className = "chip chip-" + run.status;
    if (run.status !== "running") {
      document.getElementById("done").hidden = false;
      return true;
    }
    return false;
  }
  function poll() {
    fetch(url, { headers: { "Accept": "application/json" }, credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(function (run) { if (!render(run)) { setTimeout(poll, 1200); } })
      .catch(function () { setTimeout(poll, 3000); });
  }
  poll();
})();
