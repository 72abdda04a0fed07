// Gatehouse passkeys: the browser's side of WebAuthn (navigator.credentials).
// Passkeys need a script; every other way to sign in works without one.
// The server sends the options for each ceremony and checks every answer;
// this script only carries them between the server and the authenticator.
(function () {
  "use strict";

  function $(sel, root) { return (root || document).querySelector(sel); }
  function $$(sel, root) { return Array.prototype.slice.call((root || document).querySelectorAll(sel)); }

  // A browser without WebAuthn says so where the passkey buttons would be.
  if (!window.PublicKeyCredential || !navigator.credentials) {
    $$("[data-passkeys-unsupported]").forEach(function (el) { el.hidden = false; });
    return;
  }

  // --- base64url <-> bytes: the JSON forms of WebAuthn ------------------
  function fromB64(s) {
    s = s.replace(/-/g, "+").replace(/_/g, "/");
    while (s.length % 4) s += "=";
    var bin = atob(s), out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out.buffer;
  }
  function toB64(buf) {
    var bytes = new Uint8Array(buf), bin = "";
    for (var i = 0; i < bytes.length; i++) bin += String.fromCharCode(bytes[i]);
    return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }
  function creationOptions(o) {
    var pk = Object.assign({}, o.publicKey);
    pk.challenge = fromB64(pk.challenge);
    pk.user = Object.assign({}, pk.user, { id: fromB64(pk.user.id) });
    pk.excludeCredentials = (pk.excludeCredentials || []).map(function (c) { return Object.assign({}, c, { id: fromB64(c.id) }); });
    return { publicKey: pk };
  }
  function requestOptions(o) {
    var pk = Object.assign({}, o.publicKey);
    pk.challenge = fromB64(pk.challenge);
    pk.allowCredentials = (pk.allowCredentials || []).map(function (c) { return Object.assign({}, c, { id: fromB64(c.id) }); });
    var req = { publicKey: pk };
    if (o.mediation) req.mediation = o.mediation;
    return req;
  }
  function credentialJSON(c) {
    var r = c.response, out = {
      id: c.id, rawId: toB64(c.rawId), type: c.type,
      authenticatorAttachment: c.authenticatorAttachment || undefined,
      clientExtensionResults: c.getClientExtensionResults ? c.getClientExtensionResults() : {},
      response: { clientDataJSON: toB64(r.clientDataJSON) }
    };
    if (r.attestationObject) {
      out.response.attestationObject = toB64(r.attestationObject);
      if (r.getTransports) out.response.transports = r.getTransports();
    } else {
      out.response.authenticatorData = toB64(r.authenticatorData);
      out.response.signature = toB64(r.signature);
      if (r.userHandle) out.response.userHandle = toB64(r.userHandle);
    }
    return JSON.stringify(out);
  }

  // post sends JSON to the API and resolves with the answer's JSON; a
  // problem rejects with its detail or title.
  function post(url, body) {
    return fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json" },
      body: JSON.stringify(body || {})
    }).then(function (res) {
      return res.text().then(function (text) {
        var data = text ? JSON.parse(text) : {};
        if (!res.ok) throw new Error(data.detail || data.title || res.statusText);
        return data;
      });
    });
  }

  // say puts a message in a live region (the form's, or the page's toast).
  function say(el, text) {
    if (!el) return;
    el.textContent = text;
    el.hidden = !text;
  }

  // A cancelled or timed-out browser dialog (or an authenticator that
  // declined) is not an error: the element's data-cancelled says so.
  function cancelled(err) { return err && (err.name === "NotAllowedError" || err.name === "AbortError"); }
  function failure(el, err) { return cancelled(err) ? el.getAttribute("data-cancelled") : err.message; }

  // --- Profile: add a passkey ------------------------------------------
  $$("[data-passkey-add]").forEach(function (form) {
    form.hidden = false;
    var status = $("[data-passkey-status]", form);
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var button = $("button[type=submit]", form);
      var pw = $("[name=password]", form);
      var name = $("[name=name]", form);
      button.disabled = true;
      say(status, "");
      post("/api/v1/me/passkeys/begin", pw && pw.value ? { password: pw.value } : {})
        .then(function (data) { return navigator.credentials.create(creationOptions(data.options)); })
        .then(function (cred) {
          return post("/api/v1/me/passkeys", { name: name ? name.value : "", credential: JSON.parse(credentialJSON(cred)) });
        })
        .then(function () { window.location.assign("/settings/profile?passkey=added#passkeys"); })
        .catch(function (err) {
          button.disabled = false;
          say(status, cancelled(err) ? form.getAttribute("data-cancelled") : (err.message || form.getAttribute("data-failed")));
        });
    });
  });

  // --- Profile: remove with another passkey instead of the password ----
  $$("[data-passkey-reauth]").forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", function () {
      var form = button.form;
      var field = $("[name=passkey]", form);
      var status = $("[data-passkey-status]", form);
      button.disabled = true;
      post("/api/v1/me/passkeys/reauth")
        .then(function (data) { return navigator.credentials.get(requestOptions(data.options)); })
        .then(function (cred) {
          field.value = credentialJSON(cred);
          var pw = $("[name=password]", form);
          if (pw) pw.required = false;
          form.submit();
        })
        .catch(function (err) {
          button.disabled = false;
          say(status, failure(button, err));
        });
    });
  });

  // --- Sign-in: a passkey instead of the email and password -------------
  // The button opens the browser's dialog; where the browser supports it,
  // the email field also offers the passkeys in its autofill (conditional
  // mediation). The answer goes to the page's own form, which signs in.
  var loginForm = $("[data-passkey-login]");
  if (loginForm) {
    var field = $("[name=credential]", loginForm);
    var status = $("[data-passkey-status]", loginForm);
    var button = $("[data-passkey-button]", loginForm);
    var pending = null; // the conditional request, aborted by the button
    var signIn = function (conditional) {
      var abort = new AbortController();
      if (!conditional && pending) pending.abort();
      if (conditional) pending = abort;
      return post("/api/v1/login/passkey/begin", { conditional: conditional })
        .then(function (data) {
          var req = requestOptions(data.options);
          req.signal = abort.signal;
          return navigator.credentials.get(req);
        })
        .then(function (cred) {
          if (!cred) return;
          field.value = credentialJSON(cred);
          loginForm.submit();
        });
    };
    loginForm.hidden = false;
    button.addEventListener("click", function () {
      say(status, "");
      loginForm.removeAttribute("data-passkey-state");
      signIn(false).catch(function (err) {
        // The state lets a test (and a stylesheet) see that the browser's
        // dialog ended without an answer.
        loginForm.setAttribute("data-passkey-state", cancelled(err) ? "cancelled" : "failed");
        say(status, failure(loginForm, err));
      });
    });
    if (PublicKeyCredential.isConditionalMediationAvailable) {
      PublicKeyCredential.isConditionalMediationAvailable().then(function (ok) {
        if (ok) signIn(true).catch(function () {});
      });
    }
  }

  // --- Second factor: a passkey instead of a code -----------------------
  var secondForm = $("[data-passkey-second-factor]");
  if (secondForm) {
    var secondField = $("[name=credential]", secondForm);
    var secondStatus = $("[data-passkey-status]", secondForm);
    secondForm.hidden = false;
    $("[data-passkey-button]", secondForm).addEventListener("click", function () {
      say(secondStatus, "");
      fetch("/login/2fa/passkey/options", {
        method: "POST", credentials: "same-origin", body: "",
        headers: { "Accept": "application/json", "Content-Type": "application/x-www-form-urlencoded" }
      })
        .then(function (res) {
          return res.json().then(function (data) {
            if (!res.ok) throw new Error(data.detail || data.title || res.statusText);
            return data;
          });
        })
        .then(function (data) { return navigator.credentials.get(requestOptions(data.options)); })
        .then(function (cred) {
          secondField.value = credentialJSON(cred);
          secondForm.submit();
        })
        .catch(function (err) { say(secondStatus, failure(secondForm, err)); });
    });
  }
})();
