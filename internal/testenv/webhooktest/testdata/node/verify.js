// Checks Standard Webhooks signatures with the reference library, for
// Gatehouse's tests (internal/testenv/webhooktest): one JSON request a
// line on standard input, {"secret", "headers", "body"}, one JSON answer a
// line on standard output, {"ok": true, "payload": ...} or {"ok": false,
// "error": "..."}.
"use strict";
const { Webhook } = require("standardwebhooks");
const readline = require("readline");

const lines = readline.createInterface({ input: process.stdin, terminal: false });
lines.on("line", (line) => {
  let answer;
  try {
    const req = JSON.parse(line);
    const payload = new Webhook(req.secret).verify(req.body, req.headers);
    answer = { ok: true, payload };
  } catch (e) {
    answer = { ok: false, error: String(e && e.message ? e.message : e) };
  }
  process.stdout.write(JSON.stringify(answer) + "\n");
});
