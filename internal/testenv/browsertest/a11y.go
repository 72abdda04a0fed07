package browsertest

// Checks of a page's accessibility that a machine can make: what WCAG AA
// asks of labels, names, languages, colour contrast and a form's tab order. They do not replace
// trying a page with a screen reader, but they catch the regressions that
// happen most: a field without a label, an icon button without a name,
// two elements with one id, a grey too light to read.

import "strings"

// a11yScript returns a list of problems with the page as it is now.
const a11yScript = `(() => {
  const problems = [];
  // Inside a closed <details> only the summary shows.
  const folded = e => { const d = e.closest("details"); return !!d && !d.open && !e.closest("summary"); };
  const visible = e => !folded(e) && !!(e.offsetWidth || e.offsetHeight || e.getClientRects().length) &&
    getComputedStyle(e).visibility !== "hidden";
  const describe = e => e.tagName.toLowerCase() + (e.id ? "#" + e.id : "") + (e.name ? "[name=" + e.name + "]" : "") +
    (e.className && typeof e.className === "string" ? "." + e.className.trim().split(/\s+/).join(".") : "");

  if (!document.documentElement.lang) problems.push("<html> has no lang");
  if (!document.title.trim()) problems.push("the page has no title");
  const h1 = Array.from(document.querySelectorAll("h1")).filter(visible);
  if (h1.length !== 1) problems.push("want one visible <h1>, got " + h1.length);

  const ids = {};
  document.querySelectorAll("[id]").forEach(e => { ids[e.id] = (ids[e.id] || 0) + 1; });
  Object.keys(ids).filter(id => ids[id] > 1).forEach(id => problems.push("the id " + id + " is used " + ids[id] + " times"));

  // Every field has a name a screen reader can say.
  document.querySelectorAll("input, select, textarea").forEach(e => {
    if (e.type === "hidden" || e.hidden || !visible(e)) return;
    const labelled = (e.id && document.querySelector('label[for="' + CSS.escape(e.id) + '"]')) || e.closest("label") ||
      e.getAttribute("aria-label") || e.getAttribute("aria-labelledby");
    if (!labelled) problems.push(describe(e) + " has no label");
  });
  // Every button and link says what it does.
  document.querySelectorAll("button, a[href], summary").forEach(e => {
    if (!visible(e)) return;
    const name = (e.getAttribute("aria-label") || e.innerText || e.getAttribute("title") || "").trim();
    if (!name) problems.push(describe(e) + " has no text or label");
  });
  document.querySelectorAll("img").forEach(e => { if (!e.hasAttribute("alt")) problems.push(describe(e) + " has no alt"); });

  // The tab order of a form (WCAG 2.4.3) follows its fields: no link
  // between two of them, no submit button before the last.
  const isField = e => /^(INPUT|SELECT|TEXTAREA)$/.test(e.tagName) && !["submit", "button", "image", "reset"].includes(e.type);
  document.querySelectorAll("form").forEach(f => {
    const items = Array.from(f.querySelectorAll("input, select, textarea, button, a[href]"))
      .filter(e => e.type !== "hidden" && !e.hidden && visible(e) && e.tabIndex >= 0);
    const fields = items.filter(isField);
    if (!fields.length) return;
    const first = items.indexOf(fields[0]), last = items.indexOf(fields[fields.length - 1]);
    items.forEach((e, i) => {
      if (e.tagName === "BUTTON" && e.type === "submit" && i < last)
        problems.push("the submit button " + describe(e) + " comes before the field " + describe(fields[fields.length - 1]) + " in the tab order");
      if (e.tagName === "A" && i > first && i < last)
        problems.push("the link " + describe(e) + " comes between the fields of its form in the tab order");
    });
  });

  // Text contrast (WCAG 1.4.3): 4.5:1, or 3:1 for large text.
  const rgba = c => { const m = c.match(/[\d.]+/g).map(Number); return { r: m[0], g: m[1], b: m[2], a: m.length > 3 ? m[3] : 1 }; };
  const lum = c => { const f = v => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
    return 0.2126 * f(c.r) + 0.7152 * f(c.g) + 0.0722 * f(c.b); };
  const over = (top, bottom) => ({ r: top.r * top.a + bottom.r * (1 - top.a), g: top.g * top.a + bottom.g * (1 - top.a),
    b: top.b * top.a + bottom.b * (1 - top.a), a: 1 });
  const background = e => {
    const layers = [];
    for (let n = e; n && n.nodeType === 1; n = n.parentElement) {
      const c = rgba(getComputedStyle(n).backgroundColor);
      if (c.a > 0) { layers.push(c); if (c.a >= 1) break; }
    }
    let bg = { r: 255, g: 255, b: 255, a: 1 };
    for (let i = layers.length - 1; i >= 0; i--) bg = over(layers[i], bg);
    return bg;
  };
  const seen = new Set();
  document.querySelectorAll("body *").forEach(e => {
    if (!visible(e) || e.closest("[disabled], [aria-hidden=true], svg")) return;
    const hasText = Array.from(e.childNodes).some(n => n.nodeType === 3 && n.textContent.trim());
    if (!hasText) return;
    const s = getComputedStyle(e);
    if (parseFloat(s.opacity) < 1) return;
    const fg = over(rgba(s.color), background(e));
    const bg = background(e);
    const l1 = lum(fg), l2 = lum(bg);
    const ratio = (Math.max(l1, l2) + 0.05) / (Math.min(l1, l2) + 0.05);
    const size = parseFloat(s.fontSize), bold = parseInt(s.fontWeight, 10) >= 700;
    const large = size >= 24 || (bold && size >= 18.66);
    const need = large ? 3 : 4.5;
    const key = describe(e) + s.color + s.backgroundColor;
    if (ratio < need && !seen.has(key)) {
      seen.add(key);
      problems.push("contrast " + ratio.toFixed(2) + ":1 (want " + need + ") for " + JSON.stringify(e.innerText.trim().slice(0, 40)) +
        " in " + describe(e) + ": " + s.color + " on " + JSON.stringify(bg));
    }
  });
  return problems;
})()`

// AccessibilityProblems lists what the page breaks of the checks above.
func (p *Page) AccessibilityProblems() []string {
	p.T.Helper()
	return Eval[[]string](p, a11yScript)
}

// CheckAccessibility fails the test on any problem AccessibilityProblems
// finds, and on any violation of the WCAG 2.1 A/AA rules that axe-core
// finds (axe.go).
func (p *Page) CheckAccessibility(what string) {
	p.T.Helper()
	if probs := p.AccessibilityProblems(); len(probs) > 0 {
		p.T.Errorf("%s (%s): accessibility problems:\n  %s", what, p.Path(), strings.Join(probs, "\n  "))
	}
	p.checkAxe(what)
}
