/* fieldkit participant pages: enhancements only; everything works without this file.
   ES5 on purpose (2016 phones): no arrow functions, let/const or template literals.
   - Quick exit: the Exit link, or Shift pressed three times, hides the page at once
     and replaces this history entry with the laptop's neutral page.
   - Show and hide: the screen's questions appear and disappear as they are answered,
     from the same expression trees the server evaluates (fieldkit/forms/expr.py,
     ported below and held to tests/data/expr_vectors.json by tests/test_js.py).
     The server sends them in the form's data-fk-screen attribute (web/present.py).
   - Checks on Next: a missing or refused answer is shown beside its question with
     the server's own (translated) message, and nothing is sent; the server checks again.
   - One history entry: survey forms are sent with fetch and the answer is written
     in place, so Back in the browser does not walk through the survey.
   - Wifi drops: this screen's answers are copied to sessionStorage (kept by this tab
     only, gone when it closes); a send that fails shows the offline note and is tried
     again when the browser says it is online, or after a growing pause (a few times). */
(function () {
  "use strict";

  // ------------------------------------------------ the evaluator (port of expr.py)
  var DAY = 864e5, ISO = /^(\d{4})-(\d\d)-(\d\d)(?:[T ](\d\d):(\d\d)(?::(\d\d)(?:\.(\d+))?)?(Z|([+-])(\d\d):?(\d\d))?)?$/;

  // A date (time false) or a naive local datetime, as wall-clock ms since 1970-01-01.
  function When(ms, time) { this.ms = ms; this.time = time; }

  function day(y, m, d) {
    var t = new Date(0);
    t.setUTCFullYear(y, m - 1, d);
    return y > 0 && t.getUTCMonth() === m - 1 && t.getUTCDate() === d ? t.getTime() : null;
  }

  function parseIso(text) {
    var m = ISO.exec(trim(text)), ms, tz;
    if (!m || (ms = day(+m[1], +m[2], +m[3])) === null) { return null; }
    if (m[4] === undefined) { return new When(ms, false); }
    if (+m[4] > 23 || +m[5] > 59 || +(m[6] || 0) > 59 || +(m[10] || 0) > 23 || +(m[11] || 0) > 59) { return null; }
    ms += ((+m[4] * 60 + +m[5]) * 60 + +(m[6] || 0)) * 1000 + Math.floor(+("0." + (m[7] || 0)) * 1000);
    if (m[8]) {  // an offset: the same instant in this phone's local wall-clock time
      tz = m[8] === "Z" ? 0 : (m[9] === "-" ? -1 : 1) * (+m[10] * 60 + +m[11]);
      ms -= tz * 60000;
      ms -= new Date(ms).getTimezoneOffset() * 60000;
    }
    return new When(ms, true);
  }

  function trim(s) { return String(s).replace(/^\s+|\s+$/g, ""); }
  function words(s) { s = trim(s); return s ? s.split(/\s+/) : []; }
  function chars(s) { return s.match(/[\uD800-\uDBFF][\uDC00-\uDFFF]|[\s\S]/g) || []; }  // code points
  function zeros(n) { return new Array(n + 1).join("0"); }
  function pad(n, w) { n = String(n); return zeros(Math.max(0, w - n.length)) + n; }
  function trunc(x) { return x < 0 ? Math.ceil(x) : Math.floor(x); }
  function javaInt(x) { return x !== x ? 0 : trunc(Math.max(-2147483648, Math.min(2147483647, x))); }

  function plain(x) {  // shortest round-trip digits, never an exponent
    var s = String(x), m = /^(-?)(\d)(?:\.(\d+))?e([+-]\d+)$/.exec(s), d, p;
    if (!m) { return s; }
    d = m[2] + (m[3] || "");
    p = 1 + +m[4];
    return m[1] + (p <= 0 ? "0." + zeros(-p) + d : p >= d.length ? d + zeros(p - d.length) : d.slice(0, p) + "." + d.slice(p));
  }

  function toNumber(v) {
    if (typeof v === "number") { return v; }
    if (typeof v === "boolean") { return v ? 1 : 0; }
    if (v instanceof When) { return v.ms / DAY; }
    v = trim(v === undefined || v === null ? "" : v);
    return /^-?(?:\d+(?:\.\d*)?|\.\d+)$/.test(v) ? parseFloat(v) : NaN;
  }

  function toBoolean(v) {
    if (typeof v === "number") { return !(v === 0 || v !== v); }
    if (typeof v === "string") { return v !== ""; }
    return v === undefined || v === null ? false : !!v;  // dates are true
  }

  function toString(v) {
    var t;
    if (typeof v === "boolean") { return v ? "true" : "false"; }
    if (typeof v === "number") {
      return v !== v ? "" : v === Infinity ? "Infinity" : v === -Infinity ? "-Infinity" : plain(v);
    }
    if (v instanceof When) {
      t = new Date(v.ms);
      return pad(t.getUTCFullYear(), 4) + "-" + pad(t.getUTCMonth() + 1, 2) + "-" + pad(t.getUTCDate(), 2) +
        (v.time ? "T" + pad(t.getUTCHours(), 2) + ":" + pad(t.getUTCMinutes(), 2) + ":" + pad(t.getUTCSeconds(), 2) : "");
    }
    return v === undefined || v === null ? "" : String(v);
  }

  function kind(v) { return v instanceof When ? (v.time ? "datetime" : "date") : typeof v; }

  // A stored raw answer as evaluate() expects it; throws if malformed (as expr.typed).
  function typed(type, raw) {
    var text = trim(raw || ""), d;
    if (type === "range") { type = "decimal"; }  // a range's value is a number
    if (!raw || (type !== "integer" && type !== "decimal" && type !== "date")) { return raw || ""; }
    if (!text) { return ""; }
    if (type === "date" && /^\d{4}-\d\d-\d\d$/.test(text) && (d = parseIso(text))) { return d; }
    if ((type === "integer" && /^[+-]?\d+$/.test(text)) ||
        (type === "decimal" && /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/.test(text))) {
      d = parseFloat(text);
      if (isFinite(d)) { return d; }
    }
    throw new Error(raw + " is not a valid " + type + " answer");
  }

  function datesFirst(a, b) {  // ${dob} < '2000-01-01' means a date comparison
    if (a instanceof When && typeof b === "string") { b = parseIso(b) || b; }
    else if (b instanceof When && typeof a === "string") { a = parseIso(a) || a; }
    return [a, b];
  }

  function equal(a, b) {
    var p = datesFirst(a, b);
    a = p[0]; b = p[1];
    if (typeof a === "boolean" || typeof b === "boolean") { return toBoolean(a) === toBoolean(b); }
    if (typeof a !== "string" || typeof b !== "string") { return toNumber(a) === toNumber(b); }
    return a === b;
  }

  function raise(d) {  // "129" -> "130", "99" -> "100", "" -> "1"
    var j = d.length - 1;
    while (j >= 0 && d.charAt(j) === "9") { j--; }
    return (j < 0 ? "1" : d.slice(0, j) + (+d.charAt(j) + 1)) + zeros(d.length - j - 1);
  }

  function round(x, digits) {  // ties towards +Infinity (XPath 1.0, JavaRosa), on the digits as written
    var s, point, keep, kept, n;
    if (digits !== digits || !isFinite(x)) { return digits !== digits ? NaN : x; }
    s = plain(Math.abs(x));
    point = s.indexOf(".") < 0 ? s.length : s.indexOf(".");
    s = s.replace(".", "");
    keep = point + javaInt(Math.max(-400, Math.min(400, digits)));  // digits kept
    if (keep >= s.length) { return x; }
    kept = keep > 0 ? s.slice(0, keep) : "";
    if (keep >= 0 && (x > 0 ? s.charAt(keep) >= "5" : s.slice(keep) > "5")) {
      n = kept.length;
      kept = raise(kept);
      point += kept.length - n;
      keep = kept.length;
    }
    keep = Math.max(keep, 0);
    n = keep <= point ? kept + zeros(point - keep) : kept.slice(0, point) + "." + kept.slice(point);
    return (x < 0 ? -1 : 1) * parseFloat(n || "0");
  }

  function choiceName(ctx, value, question) {
    var label;
    value = toString(value);
    question = trim(toString(question));
    if (question.slice(0, 2) === "${" && question.slice(-1) === "}") { question = question.slice(2, -1); }
    question = question.replace(/\/+$/, "").split("/").pop();
    label = value && ctx.choiceLabel ? ctx.choiceLabel(question, value) : null;
    return label === null || label === undefined ? "" : String(label);
  }

  function regex(text, pattern) {
    try { return new RegExp(pattern, "u").test(text); } catch (e) { /* old browser or not u-mode syntax */ }
    try { return new RegExp(pattern).test(text); } catch (e2) { return false; }
  }

  function substr(text, start, end) {
    var c = chars(text), n = c.length, b = javaInt(toNumber(start)), e = end === undefined ? n : javaInt(toNumber(end));
    b = b < 0 ? b + n : b;
    e = Math.min(Math.max(e < 0 ? e + n : e, 0), n);  // clamped, as JavaRosa
    return c.slice(Math.min(Math.max(0, b), e), e).join("");
  }

  function clock(ctx) {
    var t = ctx.now, d;
    if (typeof t === "string") { t = parseIso(t); }
    if (!(t instanceof When)) {
      d = new Date();
      t = new When(Date.UTC(d.getFullYear(), d.getMonth(), d.getDate(), d.getHours(), d.getMinutes(), d.getSeconds()), true);
    }
    return Math.floor(t.ms / 1000) * 1000;
  }

  function call(name, args, ctx) {
    var v = [], i, first, S = toString;
    if (name === "if") { return evaluate(args[toBoolean(evaluate(args[0], ctx)) ? 1 : 2], ctx); }
    if (name === "coalesce") {
      first = evaluate(args[0], ctx);
      return S(first) !== "" ? first : evaluate(args[1], ctx);
    }
    if (name === "today") { return new When(Math.floor(clock(ctx) / DAY) * DAY, false); }
    if (name === "now") { return new When(clock(ctx), true); }
    for (i = 0; i < args.length; i++) { v.push(evaluate(args[i], ctx)); }
    switch (name) {
      case "selected": return words(S(v[0])).indexOf(trim(S(v[1]))) >= 0;
      case "count-selected": return words(S(v[0])).length;
      case "concat": return v.map(S).join("");
      case "string": return S(v[0]);
      case "string-length": return chars(S(v[0])).length;
      case "regex": return regex(S(v[0]), S(v[1]));
      case "contains": return S(v[0]).indexOf(S(v[1])) >= 0;
      case "starts-with": return S(v[0]).indexOf(S(v[1])) === 0;
      case "substr": return substr(S(v[0]), v[1], v[2]);
      case "not": return !toBoolean(v[0]);
      case "boolean": return toBoolean(v[0]);
      case "true": return true;
      case "false": return false;
      case "number": return toNumber(v[0]);
      case "int": i = toNumber(v[0]); return isFinite(i) ? trunc(i) : i;
      case "round": return round(toNumber(v[0]), v.length > 1 ? toNumber(v[1]) : 0);
      case "jr:choice-name": return choiceName(ctx, v[0], v[1]);
    }
    throw new Error("the function " + name + "() is not supported");
  }

  // ctx: {values: function (name) -> typed value, current, now (ISO text), choiceLabel (q, value)}
  function evaluate(tree, ctx) {
    var tag = tree[0], a, b, p;
    if (tag === "num") { return +tree[1]; }
    if (tag === "str") { return tree[1]; }
    if (tag === "ref" || tag === "self") {
      a = tag === "ref" ? ctx.values(tree[1]) : ctx.current;
      return a === undefined || a === null ? "" : a;
    }
    if (tag === "neg") { return -toNumber(evaluate(tree[1], ctx)); }
    if (tag === "call") { return call(tree[1], tree.slice(2), ctx); }
    if (tag === "or" || tag === "and") {
      a = toBoolean(evaluate(tree[1], ctx));
      return a === (tag === "or") ? a : toBoolean(evaluate(tree[2], ctx));
    }
    a = evaluate(tree[1], ctx);
    b = evaluate(tree[2], ctx);
    if (tag === "=" || tag === "!=") { return equal(a, b) === (tag === "="); }
    p = datesFirst(a, b);
    a = toNumber(p[0]);
    b = toNumber(p[1]);
    switch (tag) {
      case "<": return a < b;
      case "<=": return a <= b;
      case ">": return a > b;
      case ">=": return a >= b;
      case "+": return a + b;
      case "-": return a - b;
      case "*": return a * b;
      case "div": return a / b;  // IEEE: the same NaN and signed infinities as expr._divide
      case "mod": return a % b;  // truncated, as math.fmod
    }
    throw new Error("malformed expression tree: " + tag);
  }

  window.fieldkit = {evaluate: evaluate, toString: toString, toBoolean: toBoolean, toNumber: toNumber,
                     typed: typed, kind: kind, parseIso: parseIso};

  // ------------------------------------------------ quick exit
  var exit = document.querySelector("[data-exit]"), gone = false;

  function leave() {
    gone = true;
    document.documentElement.className += " fk-leaving";
    try { window.sessionStorage.clear(); } catch (e) { /* storage may be disabled */ }
    window.location.replace(exit.href);
  }

  if (exit) {
    exit.addEventListener("click", function (event) { event.preventDefault(); leave(); });
    var presses = [];
    document.addEventListener("keyup", function (event) {
      if (event.key !== "Shift") { return; }
      var now = Date.now();
      presses = presses.filter(function (t) { return now - t < 5000; });
      presses.push(now);
      if (presses.length >= 3) { leave(); }
    });
  }

  // ------------------------------------------------ this screen
  var form = document.querySelector("form[data-survey]");
  window.ononline = null;
  if (!form) { return; }
  var data = null, store = null, key = null, fields = {}, i, el;
  try { data = JSON.parse(form.getAttribute("data-fk-screen")); } catch (e) { data = null; }
  try {
    store = window.sessionStorage;
    store.setItem("fk-test", "1");
    store.removeItem("fk-test");
  } catch (e) { store = null; }  // Safari's private mode of old refuses to store
  for (i = 0; i < form.elements.length; i++) {
    el = form.elements[i];
    if (el.name && el.type !== "hidden" && el.type !== "submit") { (fields[el.name] = fields[el.name] || []).push(el); }
  }

  function read(name, type) {  // what the server's parse_answer would make of the inputs
    var els = fields[name] || [], out = [], j, v;
    for (j = 0; j < els.length; j++) {
      if (!/^(checkbox|radio)$/.test(els[j].type) || els[j].checked) { out.push(els[j].value); }
    }
    v = type === "select_multiple" ? out.join(" ") : trim(out[0] || "");
    v = v.normalize ? v.normalize("NFC") : v;
    if (type === "decimal") { v = v.replace(",", "."); }
    return type === "integer" && /^[+-]?\d{1,10}$/.test(v) ? String(parseInt(v, 10)) : v;
  }

  function context(values, current) {
    return {
      values: function (name) {
        try { return typed(types[name] || "text", values[name] || ""); } catch (e) { return ""; }
      },
      current: current, now: data.now,
      choiceLabel: function (q, v) { var c = data.choices[q]; return c && c.hasOwnProperty(v) ? c[v] : null; }
    };
  }

  // engine.evaluate for the names this screen can change, in dependency order.
  function compute() {
    var values = {}, relevant = {}, ctx = context(values), n, j, q, ok;
    for (n in data.values) { if (data.values.hasOwnProperty(n)) { values[n] = data.values[n]; } }
    for (j = 0; j < data.questions.length; j++) {
      q = data.questions[j];
      ok = true;
      for (n = 0; ok && q.relevant && n < q.relevant.length; n++) { ok = toBoolean(evaluate(q.relevant[n], ctx)); }
      relevant[q.name] = ok;
      values[q.name] = !ok ? "" : q.screen ? read(q.name, q.type) :
        q.calculation ? toString(evaluate(q.calculation, ctx)) : q.answer || "";
    }
    return {values: values, relevant: relevant};
  }

  function box(name) { return document.getElementById(name + "-field"); }

  function refresh() {
    var s, j, q, b;
    try { s = compute(); } catch (e) { return; }  // leave the page as the server drew it
    for (j = 0; j < data.questions.length; j++) {
      q = data.questions[j];
      b = q.screen && box(q.name);
      if (b) { b.hidden = !s.relevant[q.name]; }
    }
  }

  function described(t, id) {  // the hint's id and the error's (if any), as the server writes them
    var ids = words((t.getAttribute("aria-describedby") || "").replace(/\S+-error/, "") + " " + id).join(" ");
    if (ids) { t.setAttribute("aria-describedby", ids); } else { t.removeAttribute("aria-describedby"); }
  }

  function clearErrors() {
    var old = document.querySelectorAll(".error-summary, .notice[role=status], form[data-survey] p.error"), j, t;
    for (j = 0; j < old.length; j++) { old[j].parentNode.removeChild(old[j]); }
    old = form.querySelectorAll(".has-error");
    for (j = 0; j < old.length; j++) {
      old[j].className = old[j].className.replace(/ ?has-error/, "");
      t = old[j].querySelector("fieldset, input:not([type=radio]):not([type=checkbox]), textarea");
      if (t) {
        t.removeAttribute("aria-invalid");
        described(t, "");
      }
    }
  }

  // The same markup as templates/collect/_question.html and screen.html draw.
  function showErrors(errors) {
    var summary = document.createElement("div"), list = document.createElement("ul"), h = document.createElement("h2");
    var j, b, t, p, li, a, name;
    summary.className = "error-summary";
    summary.setAttribute("role", "alert");
    summary.setAttribute("tabindex", "-1");
    h.appendChild(document.createTextNode(data.check));
    summary.appendChild(h);
    summary.appendChild(list);
    for (j = 0; j < errors.length; j++) {
      name = errors[j][0];
      b = box(name);
      p = document.createElement("p");
      p.className = "error";
      p.id = name + "-error";
      p.appendChild(document.createTextNode(errors[j][1]));
      t = b.querySelector("fieldset");
      if (t) { t.insertBefore(p, t.querySelector("label.choice")); } else {
        t = document.getElementById(name);
        t.parentNode.insertBefore(p, t);
        t.setAttribute("aria-invalid", "true");
      }
      described(t, p.id);
      b.className += " has-error";
      li = document.createElement("li");
      a = document.createElement("a");
      a.href = "#" + name + "-field";
      a.appendChild(document.createTextNode(errors[j][1]));
      li.appendChild(a);
      list.appendChild(li);
    }
    form.parentNode.insertBefore(summary, form);
    summary.focus();
    summary.scrollIntoView();
  }

  // engine.check_answer for each shown question; true when nothing stops Next.
  function valid() {
    var errors = [], s, j, q, v, cur, ctx;
    try { s = compute(); } catch (e) { return true; }  // the server decides
    for (j = 0; j < data.questions.length; j++) {
      q = data.questions[j];
      v = s.values[q.name];
      if (!q.screen || !s.relevant[q.name] || !(q.required || q.constraint)) { continue; }
      try { cur = typed(q.type, v); } catch (e) { continue; }  // malformed: the server's message says how
      ctx = context(s.values, cur);
      try {
        if (v === "" ? q.required && toBoolean(evaluate(q.required, ctx)) :
            q.constraint && !toBoolean(evaluate(q.constraint, ctx))) {
          errors.push([q.name, v === "" ? q.required_message : q.constraint_message]);
        }
      } catch (e) { /* the server decides */ }
    }
    clearErrors();
    if (errors.length) { showErrors(errors); }
    return !errors.length;
  }

  // ------------------------------------------------ the copy in sessionStorage
  function answers() {  // [[name, value], ...] of the inputs a browser would send
    var out = [], n, j, els;
    for (n in fields) {
      if (!fields.hasOwnProperty(n)) { continue; }
      els = fields[n];
      for (j = 0; j < els.length; j++) {
        if (!els[j].disabled && (!/^(checkbox|radio)$/.test(els[j].type) || els[j].checked)) { out.push([n, els[j].value]); }
      }
    }
    return out;
  }

  function save() {
    try { if (store && key) { store.setItem(key, JSON.stringify(answers())); } } catch (e) { /* full */ }
  }

  function restore(copy) {
    var n, j, els, k, has;
    for (n in fields) {
      if (!fields.hasOwnProperty(n)) { continue; }
      els = fields[n];
      for (j = 0; j < els.length; j++) {
        has = null;
        for (k = 0; k < copy.length; k++) {
          if (copy[k][0] === n && (has === null || els[j].value === copy[k][1])) { has = copy[k][1]; }
        }
        if (/^(checkbox|radio)$/.test(els[j].type)) { els[j].checked = has === els[j].value; }
        else if (has !== null) { els[j].value = has; }
      }
    }
  }

  if (data) {
    var types = data.types, copy = null;
    for (i = 0; i < data.questions.length; i++) { types[data.questions[i].name] = data.questions[i].type; }
    if (store) {
      key = "fk:" + data.draft + ":" + data.screen;
      for (i = store.length - 1; i >= 0; i--) {  // another participant's copies never come back
        if (/^fk:/.test(store.key(i)) && store.key(i).indexOf("fk:" + data.draft + ":") !== 0) { store.removeItem(store.key(i)); }
      }
      try { copy = JSON.parse(store.getItem(key)); } catch (e) { copy = null; }
      if (copy) { restore(copy); }
    }
    refresh();
    form.addEventListener("input", function () { refresh(); save(); });
    form.addEventListener("change", function () { refresh(); save(); });
  }

  // ------------------------------------------------ sending, and sending again
  var clicked = null, button = null, waiting = false, timer = null, tries = 0, sent = 0;
  var PAUSES = [2, 4, 8, 15, 30, 30, 30, 30];  // seconds; after that the participant presses again

  form.addEventListener("click", function (event) {
    if (event.target.type === "submit") { clicked = event.target; }
  });

  function body() {  // what the browser itself would send, without FormData (2016 browsers lack its parts)
    var out = [], j, e;
    for (j = 0; j < form.elements.length; j++) {
      e = form.elements[j];
      if (e.name && !e.disabled && !/^(submit|button|file)$/.test(e.type) &&
          (!/^(checkbox|radio)$/.test(e.type) || e.checked)) { out.push([e.name, e.value]); }
    }
    if (button && button.name) { out.push([button.name, button.value]); }
    var shown = [], q = form.querySelectorAll(".question:not([hidden])");  // so the server need not show them again
    for (j = 0; j < q.length; j++) { shown.push(q[j].id.replace(/-field$/, "")); }
    if (data) { out.push(["_seen", shown.join(" ")]); }
    return out.map(function (pair) { return encodeURIComponent(pair[0]) + "=" + encodeURIComponent(pair[1]); }).join("&");
  }

  function offline() {
    var note = document.querySelector("[data-offline]");
    form.removeAttribute("aria-busy");  // the answers stay on the page; pressing again sends at once
    if (note && note.hidden) { note.hidden = false; note.scrollIntoView(); }
    if (tries < PAUSES.length) { timer = window.setTimeout(send, PAUSES[tries++] * 1000); }
  }

  function send() {
    var action = (button && button.getAttribute("formaction")) || form.action, mine = ++sent, late;
    var last = /\/submit$/.test(action) && !(button && button.value === "back");
    window.clearTimeout(timer);
    if (gone || form.getAttribute("aria-busy") === "true") { return; }
    form.setAttribute("aria-busy", "true");
    late = window.setTimeout(function () { if (mine === sent) { sent++; offline(); } }, 30000);  // hung
    window.fetch(action, {method: "POST", body: body(), credentials: "same-origin",
                          headers: {"Content-Type": "application/x-www-form-urlencoded"}})
      .then(function (response) {
        return response.text().then(function (html) {
          if (mine !== sent || gone) { return; }  // given up on, or leaving
          window.clearTimeout(late);
          try {
            if (store && last && response.ok) { store.clear(); } else if (store && key) { store.removeItem(key); }
          } catch (e) { /* storage may be disabled */ }
          waiting = false;
          window.ononline = null;
          window.history.replaceState(null, "", response.url);
          document.open();
          document.write(html);
          document.close();
        });
      })
      .catch(function () {
        if (mine === sent && !gone) {
          window.clearTimeout(late);
          offline();
        }
      });
  }

  // geopoint: the phone's position where the browser gives it (a secure context: the kiosk, localhost)
  function locate(b) {
    b.hidden = false;
    b.onclick = function () {
      navigator.geolocation.getCurrentPosition(function (p) {
        var c = p.coords, v = [c.latitude, c.longitude, c.altitude || 0, c.accuracy], j;
        for (j = 0; j < 4; j++) { document.getElementById(b.getAttribute("data-fk-geo") + "-" + j).value = +v[j].toFixed(7); }
      });
    };
  }
  var geo = navigator.geolocation && window.isSecureContext ? form.querySelectorAll("[data-fk-geo]") : [];
  for (i = 0; i < geo.length; i++) { locate(geo[i]); }

  form.addEventListener("submit", function (event) {
    var pressed = event.submitter || clicked;
    if (!(pressed && pressed.value === "back") && data && !valid()) { event.preventDefault(); return; }
    save();
    if (!window.fetch || form.enctype === "multipart/form-data") { return; }  // the browser sends it (files too)
    event.preventDefault();
    if (form.getAttribute("aria-busy") === "true") { return; }  // a double tap sends once
    button = pressed;
    waiting = true;
    tries = 0;
    send();
  });
  window.ononline = function () { if (waiting) { send(); } };
}());
