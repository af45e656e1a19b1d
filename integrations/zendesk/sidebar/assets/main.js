/* healthscore sidebar: the organization's health (ticket + organization sidebars) and the ticket's sentiment.
 * Calls the healthscore REST API through Zendesk's proxy; the API key is a secure setting that Zendesk
 * injects server-side ({{setting.api_token}}), so it never reaches the browser. */
(function () {
  "use strict";
  var client = ZAFClient.init();
  var app = document.getElementById("app");
  var LABELS = { green: "Green (Healthy)", yellow: "Yellow (Watch)", red: "Red (At risk)" };  // fallback only: scoring/band_names.py, as the API's band_label
  var ICONS = { green: "●", yellow: "▲", red: "■" };

  function esc(s) {
    return String(s == null ? "" : s).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }

  function api(base, path) {
    return client.request({
      url: base.replace(/\/+$/, "") + path,
      type: "GET",
      headers: { Authorization: "Bearer {{setting.api_token}}" },
      secure: true,
      cors: false,
      dataType: "json"
    });
  }

  function healthHtml(h) {
    var band = h.band || "none";
    var html = "<h2>Customer health</h2><div><span class='score'>" + (h.score == null ? "—" : Math.round(h.score)) +
      "</span><span class='band band-" + esc(band) + "'>" + (ICONS[band] || "") + " " + esc(h.band_label || LABELS[band] || "Not scored") + "</span></div>";
    if (h.trend_30d != null) { html += "<div class='muted'>" + (h.trend_30d >= 0 ? "+" : "") + h.trend_30d.toFixed(1) + " points in 30 days</div>"; }
    if (h.drivers && h.drivers.length) {
      html += "<ul>" + h.drivers.slice(0, 3).map(function (d) { return "<li>" + esc(d.text || d) + "</li>"; }).join("") + "</ul>";
    }
    if (h.recommended_action) { html += "<div>Next step: " + esc(h.recommended_action) + "</div>"; }
    return html + "<p><a href='" + esc(h.url) + "' target='_blank' rel='noopener'>Open " + esc(h.name) + " in healthscore</a></p>";
  }

  function ticketHtml(t) {
    var label = t.sentiment_label || "not scored";
    var html = "<h2>This ticket</h2><span class='chip chip-" + esc(label) + "'>" + esc(label) + "</span>";
    if (t.sentiment_score != null) { html += " <span class='muted'>" + t.sentiment_score.toFixed(2) + "</span>"; }
    if (t.sentiment_excerpt) { html += "<p><q>" + esc(t.sentiment_excerpt) + "</q></p>"; }
    return html;
  }

  function failed(err) {
    if (err && err.status === 404) { return "<p class='muted'>healthscore has no data for this yet (not synced, or the organization is not linked to a CRM account).</p>"; }
    if (err && (err.status === 401 || err.status === 403)) { return "<p>The API token is invalid or revoked. Ask your Zendesk admin to update the app settings.</p>"; }
    return "<p class='muted'>healthscore did not answer. Try again later.</p>";
  }

  Promise.all([client.metadata(), client.context()]).then(function (r) {
    var base = r[0].settings.api_url;
    var where = r[1].location;
    var get = where === "ticket_sidebar" ? client.get(["ticket.id", "ticket.organization"]) : client.get("organization");
    return get.then(function (data) {
      var org = where === "ticket_sidebar" ? data["ticket.organization"] : data.organization;
      var parts = [];
      parts.push(org && org.id
        ? api(base, "/api/v1/health/zendesk/" + encodeURIComponent(org.id)).then(healthHtml, failed)
        : Promise.resolve("<p class='muted'>This ticket has no organization.</p>"));
      if (where === "ticket_sidebar") {
        parts.push(api(base, "/api/v1/tickets/zendesk/" + encodeURIComponent(data["ticket.id"])).then(ticketHtml, failed));
      }
      return Promise.all(parts).then(function (html) {
        app.innerHTML = html.join("");
        client.invoke("resize", { width: "100%", height: Math.min(document.body.scrollHeight + 10, 480) + "px" });
      });
    });
  }).catch(function () { app.innerHTML = failed(null); });
})();
