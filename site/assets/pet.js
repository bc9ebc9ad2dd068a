// The public pet page: draws the 30-day health chart and the recent analyses from the data the
// server embedded (the public API's shapes), then keeps the page live over the public WebSocket,
// falling back to polling the public API every 30 s when the socket is down.
"use strict";

(() => {
  const SVG = "http://www.w3.org/2000/svg";
  const POLL_MS = 30000;
  const DAY_MS = 86400000;
  const CHART = { width: 600, height: 200, left: 34, right: 12, top: 12, bottom: 26 };
  const chartBox = document.getElementById("chart");

  const main = document.getElementById("main");
  const dataNode = document.getElementById("pet-data");
  if (!main || !dataNode) return;

  const page = {
    fullName: main.dataset.fullName,
    githubUrl: main.dataset.githubUrl || "https://github.com",
    wsUrl: main.dataset.wsUrl,
    apiUrl: main.dataset.apiUrl,
    highlight: (new URLSearchParams(location.search).get("sha") || "").toLowerCase(),
  };
  let data = normalise(JSON.parse(dataNode.textContent));

  /** Accept the public API's shape and a few spellings of it, so one renderer serves both. */
  function normalise(raw) {
    const body = raw || {};
    return {
      entity: body.entity || body.pet || {},
      history: body.health_history || body.history || [],
      changes: body.changes || null,
      analyses: body.analyses || body.recent_analyses || [],
      days: body.history_days || 30,
      ranges: body.state_ranges || [],
    };
  }

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value !== undefined && value !== null) node.setAttribute(key, value);
    }
    for (const child of children) {
      if (child !== null && child !== undefined) node.append(child);
    }
    return node;
  }

  function svgEl(tag, attrs, text) {
    const node = document.createElementNS(SVG, tag);
    for (const [key, value] of Object.entries(attrs || {})) node.setAttribute(key, String(value));
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function signed(n) {
    const value = Number(n) || 0;
    return value > 0 ? `+${value}` : value < 0 ? `\u2212${Math.abs(value)}` : "±0";
  }

  function direction(n) {
    return n > 0 ? "up" : n < 0 ? "down" : "flat";
  }

  function when(iso) {
    const date = new Date(iso);
    return Number.isNaN(date.getTime()) ? "" : date.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
  }

  function shortDate(ms) {
    return new Date(ms).toLocaleDateString(undefined, { month: "short", day: "numeric" });
  }

  const REASONS = {
    commit_analysis: "commit",
    daily_decay: "no commits (daily decay)",
    death: "death",
    revival: "revival",
    manual_reset: "reset",
  };

  // Why a commit's applied change differs from its score (app.read.pets.applied_note).
  const APPLIED_NOTES = {
    max: "health is at 100",
    min: "health is at 0",
    thriving: "gains shrink near the top",
    dead: "the pet had died",
    other: "applied out of order",
  };

  /** What a history row says happened: the reason, with the start of decay and deaths named. */
  function rowLabel(row) {
    if (row.decay_start) return "decay started: no commits for a while";
    if (row.change_reason === "death") return "died after a day at 0";
    if (row.change_reason === "revival") return `revived as generation ${row.generation ?? "?"}`;
    const why = REASONS[row.change_reason] || row.change_reason || "change";
    return row.commit_sha ? `${why} ${row.commit_sha.slice(0, 7)}` : why;
  }

  /** The applied change, and the score beside it when the two differ ("+0 (scored +9)"). */
  function changeText(applied, scored, note) {
    const base = signed(applied);
    if (scored === undefined || scored === null || Number(scored) === Number(applied)) return base;
    const why = APPLIED_NOTES[note] ? `: ${APPLIED_NOTES[note]}` : "";
    return `${base} (scored ${signed(scored)}${why})`;
  }

  /** A `<time>` showing when a commit was made, with when it was analysed on hover. */
  function commitTime(committed, analysed) {
    const shown = committed || analysed;
    if (!shown) return null;
    const title = analysed ? `analysed ${when(analysed)}` : undefined;
    return el("time", { datetime: shown, title }, when(shown));
  }

  /**
   * Pictures are always served by this server, but the API and events give absolute URLs built
   * from PUBLIC_URL; keeping only the path keeps them same-origin (and within the CSP).
   */
  function samePath(url) {
    try {
      const parsed = new URL(url, location.href);
      return parsed.pathname + parsed.search;
    } catch (err) {
      return url;
    }
  }

  // --- the pet card -------------------------------------------------------------------------

  function visualState(entity) {
    return entity.status === "dead" ? "dead" : entity.state;
  }

  function renderEntity() {
    const e = data.entity;
    const state = visualState(e);
    const card = document.getElementById("pet");
    card.className = `pet-card state-${state}`;
    document.getElementById("pet-name").textContent = e.name;
    document.getElementById("pet-health").textContent = String(e.health_score);
    document.getElementById("pet-state").textContent = state.charAt(0).toUpperCase() + state.slice(1);
    document.getElementById("pet-status").textContent = e.status;
    document.getElementById("pet-generation").textContent = String(e.generation);
    document.getElementById("pet-health-bar").setAttribute("width", String(e.health_score));
    const picture = document.getElementById("pet-picture");
    const src = e.visual_url ? samePath(e.visual_url) : "";
    if (src && picture.getAttribute("src") !== src) picture.setAttribute("src", src);
    picture.setAttribute("alt", `${e.name}, a ${e.species}, looking ${state}`);
  }

  // --- the 30-day chart ---------------------------------------------------------------------

  function chartScale(now) {
    const start = now - data.days * DAY_MS;
    const w = CHART.width - CHART.left - CHART.right;
    const h = CHART.height - CHART.top - CHART.bottom;
    return {
      start,
      x: (ms) => CHART.left + ((ms - start) / (now - start)) * w,
      y: (health) => CHART.top + (1 - health / 100) * h,
    };
  }

  function chartGrid(svg, scale, now) {
    const levels = new Set([0, 100, ...data.ranges.map((r) => r.min)]);
    for (const level of [...levels].sort((a, b) => a - b)) {
      const y = scale.y(level);
      svg.append(svgEl("line", { class: "grid", x1: CHART.left, x2: CHART.width - CHART.right, y1: y, y2: y }));
      svg.append(svgEl("text", { class: "axis-label", x: CHART.left - 6, y: y + 4, "text-anchor": "end" }, String(level)));
    }
    const bottom = CHART.height - 8;
    const mid = scale.start + (now - scale.start) / 2;
    svg.append(svgEl("text", { class: "axis-label", x: CHART.left, y: bottom }, shortDate(scale.start)));
    svg.append(svgEl("text", { class: "axis-label", x: scale.x(mid), y: bottom, "text-anchor": "middle" }, shortDate(mid)));
    svg.append(svgEl("text", { class: "axis-label", x: CHART.width - CHART.right, y: bottom, "text-anchor": "end" }, "now"));
  }

  /** Per-change rows when the server sent them (they add up), else the daily buckets. */
  function chartRows() {
    return data.changes || data.history;
  }

  function windowed(now) {
    const start = now - data.days * DAY_MS;
    return chartRows()
      .map((item) => ({ ...item, ms: new Date(item.timestamp).getTime() }))
      .filter((item) => !Number.isNaN(item.ms) && item.ms >= start && item.ms <= now + DAY_MS)
      .sort((a, b) => a.ms - b.ms);
  }

  /** The state band a health falls in, from the server's ranges (rules.health_state). */
  function stateOf(health) {
    const band = data.ranges.find((r) => health >= r.min && health <= r.max);
    return band ? band.state : "unknown";
  }

  function describePoint(item) {
    const scored = item.scored_delta ?? undefined;
    return `${when(item.timestamp)}: ${item.health_score}/100 (${changeText(item.applied ?? item.delta, scored)}, ${rowLabel(item)})`;
  }

  /** Decay days, deaths and revivals as marks on the chart (decay at the point, the others as rules). */
  function markerFor(p, x, y) {
    const kind = p.decay_start ? "decay-start" : { daily_decay: "decay", death: "death", revival: "revival" }[p.change_reason];
    if (!kind) return null;
    const mark = svgEl("g", { class: `marker ${kind}`, "data-marker": kind });
    if (kind === "death" || kind === "revival") {
      mark.append(svgEl("line", { x1: x, x2: x, y1: CHART.top, y2: CHART.height - CHART.bottom }));
      mark.append(svgEl("text", { x: x + 3, y: CHART.top + 10 }, kind === "death" ? "died" : "revived"));
    } else {
      mark.append(svgEl("rect", { x: x - 3, y: y + 6, width: 6, height: 6 }));
      if (kind === "decay-start") mark.append(svgEl("text", { x: x + 4, y: y + 22 }, "hungry"));
    }
    mark.append(svgEl("title", {}, describePoint(p)));
    return mark;
  }

  /** The line between points, one segment per change, coloured by the state it arrives in. */
  function chartLine(svg, coords, points) {
    for (let i = 1; i < coords.length; i += 1) {
      const [x1, y1] = coords[i - 1];
      const [x2, y2] = coords[i];
      svg.append(svgEl("line", { class: `segment state-${stateOf(points[i].health_score)}`, x1, y1, x2, y2 }));
    }
  }

  function chartPoint(p, [cx, cy], labelled) {
    const state = p.change_reason === "death" ? "dead" : stateOf(p.health_score);
    const group = svgEl("g", { class: `point-group state-${state}` });
    const circle = svgEl("circle", { class: `point state-${state}`, cx, cy, r: 4, "data-point": "", "data-health": p.health_score, "data-state": state });
    circle.append(svgEl("title", {}, describePoint(p)));
    group.append(circle);
    if (labelled) group.append(svgEl("text", { class: "point-label", x: cx, y: cy - 9, "text-anchor": "middle", "data-label": "" }, String(p.health_score)));
    return group;
  }

  function chartSummary(points, current) {
    if (!points.length) return `No health changes in the last ${data.days} days; health is ${current}.`;
    return `Health over the last ${data.days} days: ${points.length} changes, from ${points[0].health_before ?? points[0].health_score} to ${current} now.`;
  }

  function renderChart() {
    // Draw in CSS pixels of the box itself, so text and dots keep their size at any width.
    CHART.width = Math.max(240, Math.round(chartBox.clientWidth || 600));
    CHART.height = Math.max(140, Math.round(chartBox.clientHeight || 200));
    const now = Date.now();
    const scale = chartScale(now);
    const points = windowed(now);
    const current = Number(data.entity.health_score) || 0;
    const svg = svgEl("svg", { viewBox: `0 0 ${CHART.width} ${CHART.height}`, role: "img", "aria-labelledby": "chart-title", "data-points": points.length });
    svg.append(svgEl("title", { id: "chart-title" }, chartSummary(points, current)));
    chartGrid(svg, scale, now);
    const coords = points.map((p) => [scale.x(p.ms), scale.y(p.health_score)]);
    chartLine(svg, coords, points);
    const lastX = coords.length ? coords[coords.length - 1][0] : CHART.left;
    svg.append(svgEl("line", { class: `now state-${visualState(data.entity) === "dead" ? "dead" : stateOf(current)}`, x1: lastX, x2: scale.x(now), y1: scale.y(current), y2: scale.y(current) }));
    points.forEach((p, i) => {
      const mark = markerFor(p, coords[i][0], coords[i][1]);
      if (mark) svg.append(mark);
    });
    points.forEach((p, i) => svg.append(chartPoint(p, coords[i], points.length === 1 || i === points.length - 1)));
    chartBox.replaceChildren(svg);
    renderChartTable(points);
  }

  function renderChartTable(points) {
    const rows = points.slice().reverse().map((p) => {
      const applied = p.applied ?? p.delta;
      const before = p.health_before ?? null;
      return el("tr", { "data-reason": p.change_reason, "data-decay-start": p.decay_start ? "" : null },
        el("td", {}, commitTime(p.committed_at, p.timestamp)),
        el("td", {}, before === null ? String(p.health_score) : `${before} \u2192 ${p.health_score}`),
        el("td", { class: "change" }, changeText(applied, p.scored_delta)),
        el("td", {}, rowLabel(p)));
    });
    document.querySelector("#chart-table tbody").replaceChildren(...rows);
  }

  // --- recent analyses ----------------------------------------------------------------------

  function isHighlighted(sha) {
    return page.highlight.length >= 7 && typeof sha === "string" && sha.toLowerCase().startsWith(page.highlight);
  }

  function reasonList(reasons) {
    if (!reasons || !reasons.length) return null;
    const items = reasons.map((r) =>
      el("li", {}, el("span", { class: "points" }, signed(r.points)), " ", r.detail || r.code || ""));
    return el("ul", { class: "reasons", "aria-label": "Reasons" }, ...items);
  }

  function analysisItem(a) {
    const commit = a.commit || {};
    const sha = commit.sha || "";
    const impact = a.health_impact || {};
    const scored = Number(impact.delta) || 0;
    const delta = impact.applied === undefined || impact.applied === null ? scored : Number(impact.applied);
    const quality = a.quality_metrics ? a.quality_metrics.overall_score : undefined;
    const title = (commit.message || "").split("\n")[0] || "(no message)";
    const link = el("a", { href: `${page.githubUrl}/${page.fullName}/commit/${sha}` },
      el("code", {}, sha.slice(0, 7)), el("span", { class: "visually-hidden" }, " (view the commit on GitHub)"));
    const deltaLabel = el("span", { class: `delta ${direction(delta)}` },
      `${signed(delta)} `, el("span", { class: "visually-hidden" }, "health, "), direction(delta) === "flat" ? "no change" : direction(delta));
    const scoredLabel = scored === delta ? null
      : el("span", { class: "scored", "data-scored": scored }, changeText(delta, scored, impact.applied_note).replace(/^\S+ /, ""));
    const head = el("h3", { class: "head" }, link, deltaLabel, scoredLabel, el("span", { class: "msg" }, title));
    const meta = [];
    if (commit.author) meta.push(`by ${commit.author}`);
    if (quality !== undefined && quality !== null) meta.push(`quality ${Number(quality).toFixed(1)}/10`);
    const stamp = commitTime(commit.committed_at, a.processed_at);
    const metaLine = el("p", { class: "meta" }, meta.join(" · "), meta.length && stamp ? " · " : "", stamp);
    const highlighted = isHighlighted(sha);
    const item = el("li", { class: highlighted ? "analysis highlight" : "analysis", "data-sha": sha, id: `commit-${sha.slice(0, 12)}` },
      highlighted ? el("p", { class: "this-commit" }, "This commit") : null,
      head, metaLine, reasonList(impact.reasons));
    if (highlighted) item.setAttribute("aria-current", "true");
    return item;
  }

  function renderAnalyses() {
    const list = document.getElementById("analysis-list");
    list.replaceChildren(...data.analyses.map(analysisItem));
    document.getElementById("no-analyses").hidden = data.analyses.length > 0;
  }

  function renderAll() {
    renderEntity();
    renderChart();
    renderAnalyses();
  }

  // --- live updates -------------------------------------------------------------------------

  function announce(text) {
    document.getElementById("live-status").textContent = text;
  }

  function isOurs(msg) {
    const e = data.entity;
    if (msg.entity_id !== undefined && msg.entity_id === e.id) return true;
    if (msg.repository_id !== undefined && msg.repository_id === e.repository_id) return true;
    const repo = msg.repository;
    const name = typeof repo === "string" ? repo : repo && repo.full_name;
    return typeof name === "string" && name.toLowerCase() === String(page.fullName).toLowerCase();
  }

  function onHealthUpdate(msg) {
    const e = data.entity;
    const delta = msg.health_score - e.health_score;
    Object.assign(e, {
      health_score: msg.health_score,
      state: msg.state || e.state,
      status: msg.status || e.status,
      visual_url: msg.visual_url || e.visual_url,
    });
    const row = {
      timestamp: msg.timestamp || new Date().toISOString(),
      health_score: msg.health_score,
      health_before: msg.health_score - delta,
      change_reason: msg.change_reason || "change",
      delta,
      applied: delta,
    };
    data.history.push(row);
    if (data.changes) data.changes.push(row); // until the refresh brings the stored row
    renderEntity();
    renderChart();
    const why = msg.change_reason ? `: ${msg.change_reason}` : "";
    announce(`${e.name} is now ${visualState(e)} at ${e.health_score}/100 (${signed(delta)})${why}`);
  }

  function onStatusChange(msg) {
    Object.assign(data.entity, { status: msg.new_status, health_score: msg.health_score ?? data.entity.health_score });
    if (msg.visual_url) data.entity.visual_url = msg.visual_url;
    renderEntity();
    announce(msg.message || `${data.entity.name} is now ${msg.new_status}`);
  }

  function onAnalysisComplete(msg) {
    const sha = msg.commit_sha || "";
    if (!data.analyses.some((a) => a.commit && a.commit.sha === sha)) {
      data.analyses.unshift({
        commit: { sha, message: msg.message || "" },
        quality_metrics: { overall_score: msg.quality_score },
        health_impact: { delta: msg.health_delta, reasons: msg.reasons || [] },
        processed_at: msg.timestamp,
      });
      renderAnalyses();
    }
    refresh();
  }

  // Someone earned an achievement: said out loud, and listed first until the next page load.
  function onAchievement(msg) {
    const who = (msg.person && msg.person.name) || "Someone";
    const list = document.getElementById("achievement-list");
    if (list) {
      const sha = String(msg.commit_sha || "").slice(0, 7);
      list.prepend(el("li", {}, el("strong", {}, msg.title || ""), `: ${who}, `, el("code", {}, sha), " ",
        el("span", { class: "hint" }, msg.description || "")));
      const none = document.getElementById("no-achievements");
      if (none) none.hidden = true;
    }
    announce(`${who} earned ${msg.title}: ${msg.description || ""}`);
  }

  function onSnapshot(msg) {
    const mine = (msg.entities || []).find((e) => e.id === data.entity.id || isOurs({ repository: e.repository }));
    if (mine) {
      data.entity = { ...data.entity, ...mine };
      renderEntity();
    }
  }

  function handle(msg) {
    if (!msg || typeof msg !== "object") return;
    if (msg.type === "snapshot") return onSnapshot(msg);
    if (!isOurs(msg)) return;
    if (msg.entity_id !== undefined && msg.entity_id !== data.entity.id) return refresh();
    if (msg.type === "health_update") onHealthUpdate(msg);
    else if (msg.type === "status_change") onStatusChange(msg);
    else if (msg.type === "analysis_complete") onAnalysisComplete(msg);
    else if (msg.type === "achievement") onAchievement(msg);
  }

  async function refresh() {
    if (!page.apiUrl) return;
    try {
      const response = await fetch(page.apiUrl, { headers: { Accept: "application/json" } });
      if (!response.ok) return;
      data = { ...data, ...stripEmpty(normalise(await response.json())) };
      renderAll();
    } catch (err) {
      // Offline or the server restarting: the next poll or socket message tries again.
    }
  }

  function stripEmpty(fresh) {
    const out = { ...fresh };
    if (!out.ranges.length) delete out.ranges;
    return out;
  }

  let pollTimer = null;
  let retryDelay = 1000;

  function startPolling() {
    if (page.apiUrl && pollTimer === null) pollTimer = setInterval(refresh, POLL_MS);
  }

  function stopPolling() {
    if (pollTimer !== null) clearInterval(pollTimer);
    pollTimer = null;
  }

  function connect() {
    if (!page.wsUrl || !("WebSocket" in window)) return startPolling();
    const url = new URL(page.wsUrl, location.href);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    const socket = new WebSocket(url.href);
    socket.addEventListener("open", () => {
      retryDelay = 1000;
      stopPolling();
      main.dataset.live = "connected";
    });
    socket.addEventListener("message", (event) => {
      try {
        handle(JSON.parse(event.data));
      } catch (err) {
        // A frame we don't understand is ignored; the next one may be fine.
      }
    });
    socket.addEventListener("close", () => {
      main.dataset.live = "polling";
      startPolling();
      setTimeout(connect, retryDelay);
      retryDelay = Math.min(retryDelay * 2, POLL_MS);
    });
  }

  // --- the badge snippet --------------------------------------------------------------------

  function setupCopy() {
    const button = document.getElementById("copy-badge");
    const field = document.getElementById("badge-markdown");
    if (!button || !field) return;
    button.addEventListener("click", async () => {
      try {
        await navigator.clipboard.writeText(field.value);
      } catch (err) {
        field.select();
        document.execCommand("copy");
      }
      button.textContent = "Copied";
      setTimeout(() => { button.textContent = "Copy the Markdown"; }, 2000);
    });
  }

  function focusHighlight() {
    const item = document.querySelector(".analysis.highlight");
    if (item) item.scrollIntoView({ block: "center" });
  }

  renderAll();
  let resizeTimer = null;
  window.addEventListener("resize", () => {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(renderChart, 150);
  });
  setupCopy();
  focusHighlight();
  connect();
})();
