// Gatehouse pages: live feedback only. Every page works without this
// script, and the server checks everything again.
(function () {
  "use strict";

  function $(sel, root) { return (root || document).querySelector(sel); }
  function $$(sel, root) { return Array.prototype.slice.call((root || document).querySelectorAll(sel)); }

  // --- New password forms -------------------------------------------
  // "Passwords do not match" shows while the confirmation differs, and the
  // form's [data-needs-match] buttons stay disabled until both fields are
  // filled and equal. The strength meter asks the server's policy (POST
  // /api/v1/password-check) once typing pauses, and shows its reasons in
  // the page's language.
  $$("[data-password-form]").forEach(function (form) {
    var pw = $("[data-new-password]", form);
    var confirm = $("[data-confirm-password]", form);
    if (!pw || !confirm) return;
    var mismatch = $("#mismatch", form);
    var buttons = $$("[data-needs-match]", form);
    var meter = strengthMeter(form, pw);

    function update() {
      var differ = pw.value !== confirm.value;
      var show = differ && confirm.value !== "";
      if (mismatch) mismatch.textContent = show ? mismatch.getAttribute("data-mismatch") : "";
      confirm.setAttribute("aria-invalid", show ? "true" : "false");
      var ok = !differ && pw.value !== "";
      buttons.forEach(function (b) { b.disabled = !ok; });
    }
    pw.addEventListener("input", function () { update(); meter.update(); });
    confirm.addEventListener("input", update);
    $$("[data-password-context]", form).forEach(function (f) { f.addEventListener("change", meter.update); });
    update();
    meter.update();
  });

  function strengthMeter(form, pw) {
    var box = $("[data-meter]", form);
    if (!box) return { update: function () {} };
    box.hidden = false;
    var label = $("[data-meter-label]", box);
    var list = $("[data-meter-reasons]", box);
    var texts = {};
    $$("[data-reasons] li", form).forEach(function (li) { texts[li.getAttribute("data-code")] = li.textContent; });
    var timer = 0, asked = 0, serverOK = true;

    function clear() {
      box.removeAttribute("data-level");
      label.textContent = "";
      list.textContent = "";
    }

    function show(level, reasons) {
      box.setAttribute("data-level", level);
      var text = label.getAttribute("data-" + level) || "";
      if (label.textContent !== text) label.textContent = text;
      list.textContent = "";
      (reasons || []).forEach(function (code) {
        var li = document.createElement("li");
        li.textContent = texts[code] || code;
        list.appendChild(li);
      });
    }

    // The server's limits on what a password is checked against, and its
    // shortest password, as the page was rendered with them.
    var maxInputs = Number(box.getAttribute("data-max-inputs"));
    var maxInputBytes = Number(box.getAttribute("data-max-input-bytes"));
    var minLength = pw.minLength;
    var utf8 = new TextEncoder();

    function inputs() {
      return $$("[data-password-context]", form).map(function (f) { return f.value.trim(); })
        .filter(function (v) { return v !== "" && utf8.encode(v).length <= maxInputBytes; }).slice(0, maxInputs);
    }

    // The length the server counts: characters of the NFKC form.
    function length(value) { return Array.from(value.normalize("NFKC")).length; }

    function ask(value) {
      var mine = ++asked;
      fetch("/api/v1/password-check", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        credentials: "same-origin",
        body: JSON.stringify({ password: value, user_inputs: inputs() })
      }).then(function (res) {
        if (!res.ok) throw new Error(String(res.status));
        return res.json();
      }).then(function (verdict) {
        if (mine !== asked || pw.value !== value) return; // typed on meanwhile
        if (verdict.acceptable) show(length(value) >= 16 ? "strong" : "good");
        else show("weak", verdict.reason_codes);
      }).catch(function () {
        // Busy or throttled: say only what the length says; the server
        // will say the rest when the form is sent.
        serverOK = false;
        if (mine === asked) clear();
      });
    }

    return {
      update: function () {
        clearTimeout(timer);
        var value = pw.value;
        if (value === "") { asked++; clear(); return; }
        if (length(value) < minLength) { asked++; show("short", ["too_short"]); return; }
        if (!serverOK) { clear(); return; }
        timer = setTimeout(function () { ask(value); }, 300);
      }
    };
  }

  // --- 6-digit code fields ------------------------------------------
  // A code pasted or filled in with spaces or a hyphen ("123 456") is
  // tidied to its digits.
  $$("[data-otp]").forEach(function (input) {
    function tidy(text) {
      var digits = text.replace(/[\s\u00a0-]/g, "");
      return /^[0-9]{6}$/.test(digits) ? digits : null;
    }
    input.addEventListener("paste", function (e) {
      var digits = tidy((e.clipboardData || window.clipboardData).getData("text"));
      if (digits) {
        e.preventDefault();
        input.value = digits;
        input.dispatchEvent(new Event("input", { bubbles: true }));
      }
    });
    input.addEventListener("input", function () {
      var digits = tidy(input.value);
      if (digits && digits !== input.value) input.value = digits;
    });
  });

  // --- Copy buttons --------------------------------------------------
  // Copying needs the clipboard, so the buttons show only where there is
  // one; downloads are plain links.
  function textOf(selector) {
    var el = $(selector);
    if (!el) return "";
    var items = $$("li", el);
    if (items.length) return items.map(function (li) { return li.textContent.trim(); }).join("\n") + "\n";
    return el.textContent.trim();
  }
  $$("[data-copy]").forEach(function (b) {
    if (!navigator.clipboard) return;
    b.hidden = false;
    var label = $("span", b) || b;
    var original = label.textContent;
    b.addEventListener("click", function () {
      navigator.clipboard.writeText(textOf(b.getAttribute("data-copy"))).then(function () {
        label.textContent = b.getAttribute("data-copied") || original;
        b.classList.add("copied");
        setTimeout(function () { label.textContent = original; b.classList.remove("copied"); }, 2000);
      });
    });
  });

  // --- Confirmation dialog -------------------------------------------
  // Forms with data-confirm ask first in a modal <dialog>; the focus starts
  // on Cancel and Escape cancels. Confirming sends the form with
  // confirmed=1. Without the script the server asks on a page instead.
  // The buttons act at once (the dialog's close event comes later, and
  // could belong to the previous question).
  var dialog = $("#confirm-dialog");
  var onConfirm = null;
  function ask(opts, done) {
    if (!dialog || typeof dialog.showModal !== "function") return false;
    $("#confirm-dialog-title").textContent = opts.title;
    $("#confirm-dialog-text").textContent = opts.text || "";
    var ok = $("#confirm-dialog-ok");
    ok.textContent = opts.button;
    ok.className = "button " + (opts.danger ? "danger-solid" : "primary");
    onConfirm = done;
    dialog.showModal();
    $("#confirm-dialog-cancel").focus();
    return true;
  }
  if (dialog) {
    $("#confirm-dialog-ok").addEventListener("click", function () {
      var done = onConfirm;
      onConfirm = null;
      dialog.close();
      if (done) done();
    });
    $("#confirm-dialog-cancel").addEventListener("click", function () { onConfirm = null; dialog.close(); });
    // Escape closes it by itself; a click on the backdrop does too.
    dialog.addEventListener("cancel", function () { onConfirm = null; });
    dialog.addEventListener("click", function (e) {
      var r = dialog.getBoundingClientRect();
      var outside = e.clientX < r.left || e.clientX > r.right || e.clientY < r.top || e.clientY > r.bottom;
      if (e.target === dialog && outside) { onConfirm = null; dialog.close(); }
    });
  }
  function hidden(form, name, value) {
    var input = $('input[name="' + name + '"]', form);
    if (!input) {
      input = document.createElement("input");
      input.type = "hidden";
      input.name = name;
      form.appendChild(input);
    }
    input.value = value;
  }

  $$("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (e) {
      var asked = ask({
        title: form.getAttribute("data-confirm"),
        text: form.getAttribute("data-confirm-text"),
        button: form.getAttribute("data-confirm-button") || "OK",
        danger: true
      }, function () {
        hidden(form, "confirmed", "1");
        form.submit();
      });
      if (asked) e.preventDefault();
    });
  });

  // Resetting a user's password: the dialog says what the chosen method
  // will do, and confirming skips the server's confirmation step.
  $$("form[data-reset-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (e) {
      var method = ($('input[name="method"]:checked', form) || {}).value;
      if (method !== "email" && method !== "temporary") return;
      var typed = ($('input[name="temporary_password"]', form) || {}).value || "";
      var kind = method === "email" ? "email" : (typed ? "typed" : "generated");
      var asked = ask({
        title: form.getAttribute("data-confirm"),
        text: form.getAttribute("data-text-" + kind),
        button: form.getAttribute("data-button-" + method),
        danger: false
      }, function () {
        $("[data-step]", form).value = "confirm";
        form.submit();
      });
      if (asked) e.preventDefault();
    });
  });

  // --- The user menu ------------------------------------------------
  // A <details> disclosure: Enter or Space opens it; Escape, a click
  // elsewhere or moving the focus out closes it.
  $$("[data-user-menu]").forEach(function (menu) {
    var summary = $("summary", menu);
    function sync() { summary.setAttribute("aria-expanded", menu.open ? "true" : "false"); }
    menu.addEventListener("toggle", sync);
    sync();
    menu.addEventListener("keydown", function (e) {
      if (e.key === "Escape" && menu.open) {
        menu.open = false;
        summary.focus();
      }
    });
    document.addEventListener("click", function (e) {
      if (menu.open && !menu.contains(e.target)) menu.open = false;
    });
    menu.addEventListener("focusout", function (e) {
      if (menu.open && e.relatedTarget && !menu.contains(e.relatedTarget)) menu.open = false;
    });
  });

  // On a phone the sidebar is a row that scrolls: show the current page's tab.
  var current = $('.sidebar a[aria-current="page"]');
  if (current && current.scrollIntoView && window.matchMedia("(max-width: 800px)").matches) {
    current.scrollIntoView({ block: "nearest", inline: "center" });
  }

  // --- Toasts ---------------------------------------------------------
  // Live regions announce changes, not what a page loads with, so the
  // server's messages are put back in a moment after loading. Success
  // messages leave after a while (not while pointed at or focused);
  // errors stay until dismissed.
  $$(".toast-region").forEach(function (region) {
    var toasts = $$(".toast", region);
    if (!toasts.length) return;
    toasts.forEach(function (t) { t.remove(); });
    setTimeout(function () { toasts.forEach(function (t) { region.appendChild(t); }); }, 100);
  });
  $$(".toast").forEach(function (t) {
    var close = $("[data-dismiss]", t);
    if (close) close.addEventListener("click", function () { t.remove(); });
    if (!t.hasAttribute("data-autohide")) return;
    var timer = 0;
    function start() { clearTimeout(timer); timer = setTimeout(function () { t.remove(); }, 8000); }
    function stop() { clearTimeout(timer); }
    t.addEventListener("mouseenter", stop);
    t.addEventListener("mouseleave", start);
    t.addEventListener("focusin", stop);
    t.addEventListener("focusout", start);
    start();
  });
  // An error is about what was typed: once the person types again it is
  // stale, and it must not keep covering the form's buttons at the top
  // right (on a narrow window a two-line toast lies over Update).
  document.addEventListener("input", function (e) {
    if (!e.target.form) return;
    $$(".toast-error").forEach(function (t) { t.remove(); });
  });
})();
