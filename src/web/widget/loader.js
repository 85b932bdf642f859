/*
 * Flowyte chat widget loader. Paste before </body>:
 *   <script src="https://<your Flowyte>/widget/loader.js" data-flowyte-key="flowyte_pk_live_…" async></script>
 * It reads its key from its own tag, finds the API next to itself, fetches the widget's public configuration
 * while the chat UI (chat.js) loads, then mounts <flowyte-chat> at the end of the page.
 * Optional page hooks, set before this script runs:
 *   window.FlowyteWidget = { getIdentityToken: () => string | Promise<string>, getTurnstileToken: () => string | Promise<string> }
 */
(function () {
  "use strict";
  var script = document.currentScript || document.querySelector("script[data-flowyte-key]");
  if (!script || !script.src) return;
  var key = script.getAttribute("data-flowyte-key") || "";
  var base = script.src.replace(/\/widget\/loader\.js(?:[?#].*)?$/, "");

  function bootstrap(attempt) {
    return fetch(base + "/api/v1/chat/widget/bootstrap?key=" + encodeURIComponent(key), { credentials: "omit" }).then(
      function (res) {
        if (res.status >= 500 && attempt < 3) return retryLater(attempt);
        return res.json().then(
          function (body) {
            return { status: res.status, body: body };
          },
          function () {
            return { status: res.status, body: null };
          },
        );
      },
      function (error) {
        if (attempt < 3) return retryLater(attempt);
        return { status: 0, body: null, error: error };
      },
    );
  }
  function retryLater(attempt) {
    return new Promise(function (resolve) {
      setTimeout(resolve, 500 * Math.pow(2, attempt));
    }).then(function () {
      return bootstrap(attempt + 1);
    });
  }

  function loadUi() {
    if (window.customElements.get("flowyte-chat")) return Promise.resolve();
    return new Promise(function (resolve, reject) {
      var ui = document.createElement("script");
      ui.src = base + "/widget/chat.js";
      ui.async = true;
      ui.onload = resolve;
      ui.onerror = function () {
        reject(new Error("could not load " + ui.src));
      };
      document.head.appendChild(ui);
    });
  }

  function mount(config) {
    var el = document.createElement("flowyte-chat");
    document.body.appendChild(el);
    el.start({ base: base, key: key, bootstrap: config, hooks: window.FlowyteWidget || {} });
  }

  var config = bootstrap(0);
  Promise.all([config, loadUi()]).then(
    function (results) {
      if (document.body) mount(results[0]);
      else
        document.addEventListener("DOMContentLoaded", function () {
          mount(results[0]);
        });
    },
    function (error) {
      console.error("[Flowyte] the chat widget could not start:", error.message);
    },
  );
})();
