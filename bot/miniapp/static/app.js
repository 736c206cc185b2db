// Hinge Coach Mini App: the learner's, the coach's and the operator's page, drawn from the JSON API.
// Every call sends Telegram's signed initData in a header (never in a URL); every sentence comes
// from the server (content/miniapp.yaml and its twins per language) in the person's language; charts are uPlot's.
"use strict";
(function () {
  const tg = window.Telegram && window.Telegram.WebApp;
  const base = document.currentScript.src.replace(/static\/app\.js(\?.*)?$/, "");
  const view = /\/coach$/.test(location.pathname) ? "coach" : /\/operator$/.test(location.pathname) ? "operator" : "learner";
  const initData = (tg && tg.initData) || new URLSearchParams(location.hash.slice(1)).get("tgWebAppData") || "";
  const app = document.getElementById("app");
  let T = {};
  let lang = "en";

  class Refusal extends Error {
    constructor(key) { super(key); this.key = key; }
  }

  function languageOfUser() {
    try {
      return JSON.parse(new URLSearchParams(initData).get("user")).language_code || "en";
    } catch (e) {
      return navigator.language || "en";
    }
  }

  function t(key, vars) {
    let text = T[key] || "";
    for (const name in vars || {}) text = text.split("{" + name + "}").join(String(vars[name]));
    return text;
  }

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (name === "class") node.className = value;
      else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
      else node.setAttribute(name, value);
    }
    for (const child of children.flat()) {
      if (child !== null && child !== undefined && child !== false) node.append(child instanceof Node ? child : String(child));
    }
    return node;
  }

  async function call(path, options) {
    const headers = Object.assign({}, (options && options.headers) || {}, { Authorization: "tma " + initData });
    const response = await fetch(base + "api/" + path, Object.assign({}, options || {}, { headers }));
    if (response.status === 401) throw new Refusal("refused_unsigned");
    if (response.status === 403) throw new Refusal("refused_forbidden");
    if (!response.ok) throw new Refusal("load_failed");
    return response;
  }

  // Put these nodes in place of `parent`'s children, leaving out the absent ones (null, false).
  function show(parent, ...children) {
    parent.replaceChildren(...children.flat().filter((child) => child !== null && child !== undefined && child !== false));
  }

  function css(name) {
    return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  }

  function when(iso, zone) {
    const options = { weekday: "short", day: "numeric", month: "short", hour: "2-digit", minute: "2-digit" };
    try {
      return new Intl.DateTimeFormat(lang, Object.assign({ timeZone: zone || undefined }, options)).format(new Date(iso));
    } catch (e) {
      return new Intl.DateTimeFormat(lang, options).format(new Date(iso));
    }
  }

  function navigation(links) {
    return el("nav", null, links.map(([label, page]) => el("a", { href: base + page + location.hash }, label)));
  }

  function table(headings, rows) {
    return el("div", { class: "table-wrap" }, el("table", null,
      el("thead", null, el("tr", null, headings.map((h) => el("th", null, h)))),
      el("tbody", null, rows.map((row) => el("tr", null, row.map((cell, i) =>
        el("td", { class: i > 0 && typeof cell === "string" && isNaN(Number(cell)) ? "text" : "" }, cell)))))));
  }

  const DAY = 86400;
  const DAYS = [DAY, 2 * DAY, 7 * DAY, 14 * DAY, 30 * DAY, 91 * DAY, 365 * DAY];

  function shortDate(seconds) {
    return new Intl.DateTimeFormat(lang, { day: "numeric", month: "short" }).format(new Date(seconds * 1000));
  }

  const PALETTE = ["#2678b6", "#2e9d4f", "#d98b1c", "#8a5cc2", "#d0312d", "#17a2a2", "#b5487f", "#6b6b6b"];

  // A line chart that fills its box and follows the theme; `onPick(index)` on a tap.
  function chart(box, xs, series, options) {
    const text = css("--text") || "#111";
    const grid = "rgba(128,128,128,0.2)";
    const opts = {
      width: Math.max(240, box.clientWidth),
      height: 220,
      scales: { x: { time: !!options.time } },
      legend: { show: series.length > 1, live: false },
      cursor: { points: { size: 10 } },
      axes: [
        Object.assign({ stroke: text, grid: { stroke: grid }, ticks: { stroke: grid }, space: 50 },
          options.time ? { incrs: DAYS, values: (plot, ticks) => ticks.map((tick) => shortDate(tick)) }
            : { incrs: [1, 2, 5, 10], values: (plot, ticks) => ticks.map(String) }),
        { stroke: text, grid: { stroke: grid }, ticks: { stroke: grid }, label: options.yLabel || "" },
      ],
      series: [{ label: options.xLabel || "" }].concat(series.map((s, i) => ({
        label: s.label,
        stroke: s.colour || PALETTE[i % PALETTE.length],
        width: 2,
        points: { show: true, size: 7, fill: s.colour || PALETTE[i % PALETTE.length] },
      }))),
    };
    const plot = new uPlot(opts, [xs].concat(series.map((s) => s.values)), box);
    box.chart = plot;
    if (options.onPick) {
      plot.over.addEventListener("click", (event) => {
        const index = plot.posToIdx(event.offsetX);
        if (index !== null && index >= 0 && index < xs.length) options.onPick(index);
      });
    }
    window.addEventListener("resize", () => plot.setSize({ width: Math.max(240, box.clientWidth), height: 220 }));
    return plot;
  }

  // ------------------------------------------------------------------ the learner's page

  function courseSection(data) {
    const course = data.course;
    if (!course) return el("section", { id: "course" }, el("p", null, t("course_not_started")));
    const next = course.next
      ? t("next_lesson", { day: course.next.day, when: when(course.next.at, course.next.zone) })
      : t("no_next_lesson");
    return el("section", { id: "course" },
      el("p", { class: "big" }, t("course_day", { day: Math.max(1, course.day), days: course.days })),
      el("p", { class: "hint" }, t("status_" + course.status)),
      el("p", { id: "next-lesson" }, next));
  }

  function checkinsSection(data, zone) {
    const fix = { yes: "fix_yes", partly: "fix_partly", no: "fix_no" };
    const items = data.checkins.slice().reverse().map((c) => el("li", { class: "checkin" },
      el("div", null, el("b", null, t("checkin_day", { day: c.day })), " · ", el("span", { class: "hint" }, when(c.at, zone))),
      el("div", { class: "hint" }, c.question),
      el("div", null, c.answer),
      c.advice ? el("div", null, t("checkin_advice", { advice: c.advice })) : null,
      c.advice ? el("div", { class: "hint" }, t(fix[c.fix_helped] || "fix_unknown")) : null));
    return el("section", { id: "checkins" }, el("h2", null, t("checkins_heading")),
      items.length ? el("ul", { class: "list" }, items) : el("p", { class: "hint" }, t("checkins_none")));
  }

  function progressSection(data, zone) {
    const section = el("section", { id: "progress" }, el("h2", null, t("progress_heading")));
    if (!data.exercises.length) {
      section.append(el("p", { class: "hint" }, t("progress_none")));
      return section;
    }
    const picker = el("select", { id: "exercise", "aria-label": t("progress_pick") },
      data.exercises.map((e) => el("option", { value: e.key }, e.name)));
    const box = el("div", { class: "chart", id: "progress-chart" });
    const detail = el("div", { class: "session", id: "session" }, t("progress_tap"));
    section.append(el("label", { class: "row" }, t("progress_pick"), picker), box, detail);
    const draw = () => {
      const exercise = data.exercises.find((e) => e.key === picker.value);
      const weighted = exercise.sessions.some((s) => s.weight !== null);
      box.replaceChildren();
      detail.textContent = t("progress_tap");
      chart(box, exercise.sessions.map((s) => Date.parse(s.at) / 1000),
        [{ label: exercise.name, values: exercise.sessions.map((s) => (weighted ? s.weight : s.reps)) }],
        {
          time: true,
          yLabel: weighted ? t("progress_axis", { unit: exercise.unit }) : t("progress_axis_reps"),
          onPick: (i) => showSession(detail, exercise, exercise.sessions[i], zone),
        });
    };
    picker.addEventListener("change", draw);
    requestAnimationFrame(draw);
    return section;
  }

  function showSession(detail, exercise, s, zone) {
    const weight = s.weight === null ? t("session_body_weight") : s.weight + " " + exercise.unit;
    show(detail,
      el("b", null, exercise.name),
      el("div", null, t("session_line", { date: when(s.at, zone), sets: s.sets, reps: s.reps, weight: weight })),
      s.felt ? el("div", null, t("felt_" + s.felt)) : null,
      s.rpe !== null ? el("div", null, t("session_effort", { rpe: s.rpe })) : null,
      s.checkin ? el("div", { class: "hint" }, t("session_checkin", { answer: s.checkin })) : null);
    if (tg && tg.HapticFeedback) tg.HapticFeedback.selectionChanged();
  }

  function settingsSection(data) {
    const current = data.settings;
    const section = el("section", { id: "settings" }, el("h2", null, t("settings_heading")));
    if (!current) {
      section.append(el("p", { class: "hint" }, t("setting_not_started")));
      return section;
    }
    const inputs = {
      time: el("input", { type: "time", id: "set-time", value: current.time || "" }),
      timezone: el("input", { type: "text", id: "set-timezone", value: current.timezone || "", autocomplete: "off" }),
      units: el("select", { id: "set-units" }, ["kg", "lb"].map((u) => el("option", { value: u }, u))),
      weekly: el("input", { type: "checkbox", id: "set-weekly" }),
      paused: el("input", { type: "checkbox", id: "set-paused" }),
    };
    inputs.units.value = current.units;
    inputs.weekly.checked = current.weekly;
    inputs.paused.checked = current.paused;
    const note = el("p", { class: "hint", id: "settings-note" });
    const save = el("button", { type: "button", id: "save" }, t("setting_save"));
    save.addEventListener("click", async () => {
      const value = (name) => (inputs[name].type === "checkbox" ? inputs[name].checked : inputs[name].value.trim());
      const changed = Object.keys(inputs).filter((name) => value(name) !== current[name]);
      if (!changed.length) {
        note.textContent = t("setting_unchanged");
        return;
      }
      save.disabled = true;
      try {
        let answer = null;
        for (const name of changed) {
          const response = await call("settings", {
            method: "POST",
            headers: { "Content-Type": "application/json" },
            body: JSON.stringify({ setting: name, value: value(name) }),
          });
          answer = await response.json();
          if (!answer.saved) break;
        }
        renderLearner(answer);
        const message = answer.saved ? t("setting_saved") : t(answer.problem, { zones: (answer.choices || []).join(", ") });
        document.getElementById("settings-note").textContent = message;
        if (tg && tg.HapticFeedback) tg.HapticFeedback.notificationOccurred(answer.saved ? "success" : "error");
      } catch (error) {
        note.textContent = t(error.key || "load_failed");
        save.disabled = false;
      }
    });
    const row = (label, input) => el("label", { class: "row" }, label, input);
    section.append(
      row(t("setting_time"), inputs.time),
      row(t("setting_zone"), inputs.timezone),
      row(t("setting_units"), inputs.units),
      row(t("setting_weekly"), inputs.weekly),
      row(t("setting_paused"), inputs.paused),
      save, note);
    return section;
  }

  function renderLearner(data) {
    const zone = data.settings ? data.settings.timezone : null;
    show(app,
      el("h1", null, t("learner_title")),
      data.operator ? navigation([[t("nav_operator"), "operator"]]) : null,
      courseSection(data),
      checkinsSection(data, zone),
      progressSection(data, zone),
      settingsSection(data));
  }

  // ------------------------------------------------------------------ the coach's page

  const FUNNEL = ["sent", "answered", "clean", "lower_back", "other_faults", "red_flags"];

  function renderCoach(data, chat) {
    app.replaceChildren(el("h1", null, t("coach_title", { title: data.title, day: Math.max(1, data.day), days: data.days })));
    if (!data.funnel.length) {
      app.append(el("section", null, el("p", null, t("coach_not_started"))));
      return;
    }
    app.append(el("section", { id: "funnel" }, el("h2", null, t("funnel_heading")),
      table([t("col_day")].concat(FUNNEL.map((key) => t("col_" + key))),
        data.funnel.map((row) => [String(row.day)].concat(FUNNEL.map((key) => String(row[key]))))),
      el("p", { class: "hint" }, t("funnel_sent_note"))));
    const attention = data.attention;
    const items = attention.red_flags.map((r) => el("li", { class: "red" }, t("attention_red_flag", r)))
      .concat(attention.silent.map((s) => el("li", null, t("attention_silent", s))));
    app.append(el("section", { id: "attention" }, el("h2", null, t("attention_heading")),
      items.length ? el("ul", { class: "list" }, items) : el("p", { class: "hint" }, t("attention_none"))));
    const box = el("div", { class: "chart", id: "trend-chart" });
    app.append(el("section", { id: "trend" }, el("h2", null, t("trend_heading")), box));
    const colours = { answered: "#2678b6", clean: "#2e9d4f", lower_back: "#d98b1c", other_faults: "#8a5cc2", red_flags: "#d0312d" };
    requestAnimationFrame(() => chart(box, data.funnel.map((row) => row.day),
      FUNNEL.slice(1).map((key) => ({ label: t("col_" + key), colour: colours[key], values: data.funnel.map((row) => row[key]) })),
      { xLabel: t("col_day") }));
    const download = el("button", { type: "button", id: "csv" }, t("csv_button"));
    download.addEventListener("click", async () => {
      const response = await call("coach.csv?chat=" + encodeURIComponent(chat));
      const link = el("a", { href: URL.createObjectURL(await response.blob()), download: "check-ins.csv" });
      document.body.append(link);
      link.click();
      link.remove();
    });
    app.append(el("section", null, download));
  }

  // ------------------------------------------------------------------ the operator's page

  function renderOperator(data) {
    app.replaceChildren(el("h1", null, t("operator_title")),
      navigation([[t("nav_mine"), ""]].concat(data.groups.map((g) => [g.title, "coach?chat=" + g.chat]))));
    const days = Array.from({ length: data.days }, (_, i) => i + 1);
    const name = (c) => (c.kind === "group" ? t("cohort_group", { name: c.name }) : t("cohort_private", { week: c.name }));
    const box = el("div", { class: "chart", id: "cohort-chart" });
    app.append(el("section", { id: "cohorts" }, el("h2", null, t("cohorts_heading")), box,
      table([""].concat(days.map(String)),
        data.cohorts.map((c) => [name(c) + " · " + t("cohort_started", { count: c.started })].concat(c.reached.map(String))))));
    if (data.cohorts.length) {
      requestAnimationFrame(() => chart(box, days,
        data.cohorts.slice(0, PALETTE.length).map((c) => ({ label: name(c), values: c.reached })), { xLabel: t("col_day") }));
    }
    const kinds = ["clean", "same", "other", "red", "none"];
    app.append(el("section", { id: "outcomes" }, el("h2", null, t("outcomes_heading")),
      table([t("col_advice"), t("col_given"), t("col_next_clean"), t("col_next_same"), t("col_next_other"), t("col_next_red"), t("col_next_none"), t("col_helped")],
        data.outcomes.map((o) => [o.title, String(o.given)].concat(kinds.map((k) => String(o.next[k])),
          [o.helped.yes + " / " + o.helped.partly + " / " + o.helped.no])))));
    const how = { asked: "unread_asked", "pain-check": "unread_pain" };
    app.append(el("section", { id: "unread" }, el("h2", null, t("unread_heading")),
      data.unread.length
        ? table([t("col_when"), t("col_question"), t("col_how"), t("col_text")],
          data.unread.map((u) => [when(u.at), u.question, t(how[u.how]), u.text]))
        : el("p", { class: "hint" }, t("unread_none"))));
  }

  // ------------------------------------------------------------------ start

  async function start() {
    if (tg) {
      tg.ready();
      tg.expand();
      if (tg.initData) document.documentElement.dataset.telegram = "1";
    }
    // Signed, the server answers in the language the person coaches in (chosen in the chat, else
    // their Telegram app's); unsigned, in the app's language if it has it. Dates follow the answer.
    try {
      const headers = initData ? { Authorization: "tma " + initData } : {};
      const response = await fetch(base + "api/texts?lang=" + encodeURIComponent(languageOfUser()), { headers });
      T = await response.json();
      lang = response.headers.get("Content-Language") || "en";
    } catch (error) {
      return;  // no sentences to show anything with; Telegram's own "reload" is the way out
    }
    app.replaceChildren(el("p", { class: "hint" }, t("loading")));
    try {
      if (!initData) throw new Refusal("refused_unsigned");
      if (view === "coach") {
        const chat = new URLSearchParams(location.search).get("chat") || "";
        renderCoach(await (await call("coach?chat=" + encodeURIComponent(chat))).json(), chat);
      } else if (view === "operator") {
        renderOperator(await (await call("operator")).json());
      } else {
        renderLearner(await (await call("learner")).json());
      }
    } catch (error) {
      app.replaceChildren(el("p", { class: "refused", id: "refused" }, t(error.key || "load_failed")));
    }
  }

  start();
})();
