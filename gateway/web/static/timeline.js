// The masterplan as a timeline: a lane per song and stem over time, section names on top,
// the planned energy as a line, then Claude's (or the rules') vision, the problems and
// solutions, and which planner wrote it. A table repeats the timeline for screen readers.

import { clear, formatTime, h, s, songColor, songTitle, tip } from "./dom.js";

const W = 960;
const LABEL_W = 170;
const NAMES_H = 34;
const ENERGY_H = 70;
const LANE_H = 24;
const AXIS_H = 24;
const STEM_ORDER = ["full", "vocals", "instrumental", "drums", "bass", "other"];

/** Lanes in a stable order: by the job's song order, then by stem. */
export function lanesOf(timeline, songs) {
  const seen = new Map();
  for (const section of timeline) {
    for (const layer of section.layers || []) {
      const key = `${layer.songId}\u0000${layer.stem}`;
      if (!seen.has(key)) seen.set(key, { songId: layer.songId, stem: layer.stem });
    }
  }
  const songIndex = (id) => {
    const i = songs.findIndex((song) => song.id === id);
    return i < 0 ? songs.length : i;
  };
  return [...seen.values()].sort((x, y) =>
    songIndex(x.songId) - songIndex(y.songId) ||
    STEM_ORDER.indexOf(x.stem) - STEM_ORDER.indexOf(y.stem));
}

/** Layer opacity from its gain: quiet layers fade, 0 dB and louder are solid. */
const opacityFor = (volumeDb) => Math.min(1, Math.max(0.25, 1 + Number(volumeDb || 0) / 24));

export function timelineSvg(plan, songs) {
  const timeline = [...(plan.timeline || [])].sort((a, b) => a.time_start_sec - b.time_start_sec);
  const lanes = lanesOf(timeline, songs);
  const total = Math.max(1, ...timeline.map((sec) => sec.time_start_sec + sec.duration_sec));
  const innerW = W - LABEL_W - 10;
  const x = (t) => LABEL_W + (t / total) * innerW;
  const lanesTop = NAMES_H + ENERGY_H + 6;
  const height = lanesTop + lanes.length * LANE_H + AXIS_H;
  const svg = s("svg", { viewBox: `0 0 ${W} ${height}`, class: "plot timeline", role: "img",
    "aria-label": `Masterplan timeline: ${timeline.length} sections over ${formatTime(total)}, ` +
      `${lanes.length} lanes.` });

  // Section names and boundaries.
  const names = s("g", { class: "section-names" });
  timeline.forEach((section, index) => {
    const x0 = x(section.time_start_sec);
    const width = x(section.time_start_sec + section.duration_sec) - x0;
    names.append(s("rect", { x: x0, y: 2, width: Math.max(1, width - 2), height: NAMES_H - 6,
      rx: 4, fill: index % 2 ? "#2c3440" : "#323b48", class: "section-box" },
    tip(`${formatTime(section.time_start_sec)}–${formatTime(section.time_start_sec + section.duration_sec)}: ${section.description}`)));
    const label = String(section.description || `Section ${index + 1}`);
    const maxChars = Math.max(0, Math.floor((width - 8) / 6.2));
    if (maxChars >= 3) {
      names.append(s("text", { x: x0 + 4, y: NAMES_H / 2 + 3, class: "section-name" },
        label.length > maxChars ? `${label.slice(0, maxChars - 1)}…` : label));
    }
    names.append(s("line", { x1: x0, x2: x0, y1: NAMES_H, y2: height - AXIS_H, class: "grid-line" }));
  });
  svg.append(names);

  // Planned energy: one step per section, drawn as a line through section levels.
  const energyTop = NAMES_H + 2;
  const ey = (v) => energyTop + (1 - Math.min(Math.max(Number(v) || 0, 0), 1)) * (ENERGY_H - 8);
  const points = [];
  for (const section of timeline) {
    points.push(`${x(section.time_start_sec).toFixed(1)},${ey(section.energy_level).toFixed(1)}`);
    points.push(`${x(section.time_start_sec + section.duration_sec).toFixed(1)},${ey(section.energy_level).toFixed(1)}`);
  }
  svg.append(s("text", { x: 6, y: energyTop + ENERGY_H / 2 }, "Energy"));
  if (points.length) {
    svg.append(s("polyline", { points: points.join(" "), fill: "none", stroke: "#ffd27a",
      "stroke-width": 2.5, class: "plan-energy" }, tip("Planned energy per section")));
  }

  // One lane per song and stem.
  lanes.forEach((lane, row) => {
    const y0 = lanesTop + row * LANE_H;
    const color = songColor(songs, lane.songId);
    const title = songTitle(songs, lane.songId);
    const group = s("g", { class: "lane", "data-song-id": lane.songId, "data-stem": lane.stem });
    group.append(s("rect", { x: LABEL_W, y: y0 + 2, width: innerW, height: LANE_H - 4, fill: "#1f252d" }));
    const name = `${title} · ${lane.stem}`;
    group.append(s("text", { x: 6, y: y0 + LANE_H / 2 + 4 },
      name.length > 26 ? `${name.slice(0, 25)}…` : name, tip(name)));
    for (const section of timeline) {
      const layer = (section.layers || []).find((l) => l.songId === lane.songId && l.stem === lane.stem);
      if (!layer) continue;
      const x0 = x(section.time_start_sec);
      const effects = (layer.effects || []).join(", ");
      group.append(s("rect", { x: x0 + 1, y: y0 + 3, width: Math.max(1, x(section.time_start_sec + section.duration_sec) - x0 - 2),
        height: LANE_H - 6, rx: 3, fill: color, "fill-opacity": opacityFor(layer.volume_db).toFixed(2),
        class: "layer" },
      tip(`${name}: ${section.description}, ${Number(layer.volume_db || 0).toFixed(1)} dB` +
        (effects ? `, effects: ${effects}` : ""))));
    }
    svg.append(group);
  });

  // Time axis.
  const axis = s("g", { class: "axis" });
  const step = [5, 10, 15, 30, 60, 120].find((t) => total / t <= 12) || 300;
  const axisY = height - AXIS_H;
  for (let t = 0; t <= total + 0.01; t += step) {
    axis.append(s("line", { x1: x(t), x2: x(t), y1: axisY, y2: axisY + 5 }));
    axis.append(s("text", { x: x(t), y: axisY + 17, "text-anchor": "middle" }, formatTime(t)));
  }
  svg.append(axis);
  return svg;
}

function timelineTable(plan, songs) {
  const rows = (plan.timeline || []).map((section) => h("tr", {},
    h("td", {}, `${formatTime(section.time_start_sec)}–${formatTime(section.time_start_sec + section.duration_sec)}`),
    h("td", {}, section.description),
    h("td", {}, `${Math.round(Number(section.energy_level || 0) * 100)} %`),
    h("td", {}, (section.layers || []).map((l) =>
      `${songTitle(songs, l.songId)} ${l.stem} (${Number(l.volume_db || 0).toFixed(1)} dB` +
      `${(l.effects || []).length ? `; ${l.effects.join(", ")}` : ""})`).join(" + ") || "—")));
  return h("details", {}, h("summary", {}, "The timeline as a table"),
    h("div", { class: "table-scroll" }, h("table", { class: "timeline-table" },
      h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Time"), h("th", { scope: "col" }, "Section"),
        h("th", { scope: "col" }, "Energy"), h("th", { scope: "col" }, "Layers"))),
      h("tbody", {}, rows))));
}

function plannerWords(state) {
  if (state.planner === "claude") {
    return `Written by Claude${state.model ? ` (${state.model})` : ""}.`;
  }
  if (state.planner === "rules") return "Written by the built-in rules planner (no Claude key was used).";
  return state.planner ? `Written by the ${state.planner} planner.` : "";
}

export function renderPlan(container, state) {
  const plan = state.masterplan;
  clear(container);
  if (!plan) return false;
  const songs = state.songs || [];
  const global = plan.global || {};
  const lanes = lanesOf(plan.timeline || [], songs);
  container.append(
    h("p", { class: "plan-title" }, h("strong", {}, plan.title || "Untitled mashup"),
      plan.artistCredits ? ` — ${plan.artistCredits}` : ""),
    h("p", { class: "hint" }, [global.targetBPM && `${Number(global.targetBPM).toFixed(1)} BPM`,
      global.targetKey, (global.timeSignature || []).join("/")].filter(Boolean).join(" · ")),
    h("p", { class: "planner", id: "planner" }, plannerWords(state)),
    h("div", { class: "timeline-scroll" }, timelineSvg(plan, songs)),
    h("ul", { class: "legend" }, songs.map((song) => h("li", {},
      h("span", { class: "swatch", style: { background: songColor(songs, song.id) } }), song.title || song.id)),
    h("li", {}, h("span", { class: "swatch", style: { background: "#ffd27a" } }), "planned energy"),
    h("li", {}, `${lanes.length} lanes; fainter blocks are quieter`)),
    timelineTable(plan, songs),
  );
  const vision = state.creative_vision;
  if (vision) {
    container.append(h("h4", {}, "Creative vision"), h("blockquote", { class: "vision" }, vision));
  }
  const problems = plan.problems_and_solutions || [];
  if (problems.length) {
    container.append(h("h4", {}, "Problems and solutions"),
      h("dl", { class: "problems" }, problems.flatMap((item) => [
        h("dt", {}, item.problem), h("dd", {}, item.solution)])));
  }
  return true;
}
