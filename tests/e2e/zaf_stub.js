/* A stand-in for Zendesk's ZAF SDK in browser tests: the same calls the sidebar makes, answered with a fixed
 * ticket/organization. `request` goes through https://zendesk.test/proxy, which the test serves by calling
 * healthscore server-side with the secure setting filled in — as Zendesk's proxy does. */
window.ZAFClient = {
  init: function () {
    var cfg = window.__ZAF__;
    return {
      metadata: function () { return Promise.resolve({ settings: { api_url: cfg.apiUrl } }); },
      context: function () { return Promise.resolve({ location: cfg.location }); },
      get: function (keys) {
        var data = { "ticket.id": cfg.ticketId, "ticket.organization": { id: cfg.orgId }, organization: { id: cfg.orgId } };
        return Promise.resolve(data);
      },
      invoke: function () { return Promise.resolve(); },
      request: function (opts) {
        return fetch("https://zendesk.test/proxy", {
          method: "POST",
          body: JSON.stringify({ url: opts.url, headers: opts.headers || {}, secure: !!opts.secure })
        }).then(function (r) {
          return r.json().then(function (body) {
            if (!r.ok) { return Promise.reject({ status: r.status, responseJSON: body }); }
            return body;
          });
        });
      }
    };
  }
};
