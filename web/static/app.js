// Gatehouse pages: live feedback only. Every rule is checked again by the
// server; without this script every page still works.
(function () {
  "use strict";

  // "Passwords do not match": shown while the confirmation differs; the
  // form's submit button stays disabled until both fields are filled and
  // equal.
  document.querySelectorAll("[data-password-form]").forEach(function (form) {
    var pw = form.querySelector("[data-new-password]");
    var confirm = form.querySelector("[data-confirm-password]");
    var message = form.querySelector("#mismatch");
    var buttons = form.querySelectorAll("[data-needs-match]");
    if (!pw || !confirm) return;
    var meter = form.querySelector("[data-meter]");
    function update() {
      var differ = pw.value !== confirm.value;
      var show = differ && confirm.value !== "";
      if (message) message.hidden = !show;
      confirm.setAttribute("aria-invalid", show ? "true" : "false");
      var ok = !differ && pw.value !== "";
      buttons.forEach(function (b) { b.disabled = !ok; });
      if (meter) strength(meter, pw.value);
    }
    pw.addEventListener("input", update);
    confirm.addEventListener("input", update);
    update();
  });

  // A rough strength meter: length and variety. The server's policy (a
  // dictionary and pattern check) has the last word and says why.
  function strength(meter, value) {
    meter.hidden = value === "";
    var score = 0;
    if (value.length >= 12) score++;
    if (value.length >= 16) score++;
    if (/[a-z]/.test(value) && /[A-Z]/.test(value)) score++;
    if (/[0-9]/.test(value) || /[^A-Za-z0-9]/.test(value)) score++;
    if (new Set(value).size < value.length / 2) score--;
    var levels = [["weak", "15%", "#b42318"], ["weak", "30%", "#b42318"], ["fair", "55%", "#b54708"], ["good", "80%", "#067647"], ["good", "100%", "#067647"]];
    var l = levels[Math.max(0, Math.min(score, 4))];
    var bar = meter.querySelector(".meter-bar");
    bar.style.setProperty("--strength", l[1]);
    bar.style.setProperty("--meter-color", l[2]);
    var label = meter.querySelector(".meter-label");
    if (label) label.textContent = meter.getAttribute("data-label-" + l[0]) || "";
  }

  // Code fields accept a pasted code with spaces or a hyphen.
  document.querySelectorAll("[data-otp]").forEach(function (input) {
    input.addEventListener("paste", function (e) {
      var text = (e.clipboardData || window.clipboardData).getData("text");
      var digits = text.replace(/[\s-]/g, "");
      if (/^[0-9]{6}$/.test(digits)) {
        e.preventDefault();
        input.value = digits;
      }
    });
  });

  // Copy and download buttons for recovery codes and temporary passwords.
  function textOf(selector) {
    var el = document.querySelector(selector);
    if (!el) return "";
    var items = el.querySelectorAll("li");
    if (items.length) return Array.prototype.map.call(items, function (li) { return li.textContent.trim(); }).join("\n") + "\n";
    return el.textContent.trim();
  }
  document.querySelectorAll("[data-copy]").forEach(function (b) {
    b.hidden = !navigator.clipboard;
    b.addEventListener("click", function () {
      var text = textOf(b.getAttribute("data-copy"));
      if (navigator.clipboard) {
        navigator.clipboard.writeText(text).then(function () {
          var old = b.textContent;
          b.textContent = b.getAttribute("data-copied") || "✓";
          setTimeout(function () { b.textContent = old; }, 1500);
        });
      }
    });
  });
  document.querySelectorAll("[data-download]").forEach(function (b) {
    b.addEventListener("click", function () {
      var blob = new Blob([textOf(b.getAttribute("data-download"))], { type: "text/plain" });
      var a = document.createElement("a");
      a.href = URL.createObjectURL(blob);
      a.download = b.getAttribute("data-filename") || "gatehouse.txt";
      document.body.appendChild(a);
      a.click();
      a.remove();
      URL.revokeObjectURL(a.href);
    });
  });

  // Confirmation before destructive admin actions.
  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (e) {
      if (!window.confirm(form.getAttribute("data-confirm"))) e.preventDefault();
    });
  });

  // Toasts: dismiss buttons; success toasts leave by themselves.
  document.querySelectorAll("[data-dismiss]").forEach(function (b) {
    b.addEventListener("click", function () { b.closest(".toast").remove(); });
  });
  document.querySelectorAll(".toast[data-autohide]").forEach(function (t) {
    setTimeout(function () { t.remove(); }, 8000);
  });
})();
