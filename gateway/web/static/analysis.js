// One card per song: tempo, key with its Camelot code, loudness, and an energy plot with
// the sections shaded and the vocal phrases marked.

import { clear, formatTime, h, s, songColor, songTitle, tip } from "./dom.js";

const PLOT_W = 600;
const PLOT_H = 150;
const PAD = { left: 30, right: 8, top: 18, bottom: 34 };
const VOCAL_BAND_H = 8;

const round = (value, digits = 1) => Number(value).toFixed(digits);

function fact(label, value, title = "") {
  return h("div", {}, h("dt", {}, label), h("dd", { title: title || undefined }, value));
}

/** Tick spacing that gives about six labels over `duration` seconds. */
function tickStep(duration) {
  const steps = [5, 10, 15, 30, 60, 120, 300];
  return steps.find((step) => duration / step <= 8) || 600;
}

/** The energy curve as an SVG figure; sections as shaded bands, vocals as a strip. */
export function energyPlot(analysis, color) {
  const duration = Number(analysis.duration_sec) || 1;
  const curve = analysis.energy_curve || { hop_sec: 1, values: [] };
  const innerW = PLOT_W - PAD.left - PAD.right;
  const innerH = PLOT_H - PAD.top - PAD.bottom - VOCAL_BAND_H - 4;
  const x = (t) => PAD.left + (Math.min(Math.max(t, 0), duration) / duration) * innerW;
  const y = (v) => PAD.top + (1 - Math.min(Math.max(v, 0), 1)) * innerH;
  const sections = analysis.sections || [];
  const vocals = analysis.vocal_intervals || [];
  const label = `Energy over time for ${analysis.songId}: ${sections.length} sections, ` +
    `${vocals.length} vocal phrases.`;
  const svg = s("svg", { viewBox: `0 0 ${PLOT_W} ${PLOT_H}`, class: "plot energy-plot",
    role: "img", "aria-label": label });

  const bands = s("g", { class: "sections" });
  sections.forEach((section, index) => {
    const x0 = x(section.start_sec);
    const width = Math.max(1, x(section.end_sec) - x0);
    bands.append(s("rect", { x: x0, y: PAD.top, width, height: innerH,
      fill: index % 2 ? "#2c3440" : "#262d37" },
    tip(`${section.label}: ${formatTime(section.start_sec)}–${formatTime(section.end_sec)}, ` +
      `energy ${round(section.energy, 2)}`)));
    if (width > 26) {
      bands.append(s("text", { x: x0 + 3, y: PAD.top - 5, class: "section-label" },
        section.label));
    }
    bands.append(s("line", { x1: x0, x2: x0, y1: PAD.top, y2: PAD.top + innerH,
      class: "grid-line" }));
  });
  svg.append(bands);

  const values = curve.values || [];
  const hop = Number(curve.hop_sec) || duration / Math.max(values.length, 1);
  if (values.length) {
    const points = values.map((v, i) => `${round(x(i * hop), 1)},${round(y(v), 1)}`).join(" ");
    svg.append(s("polyline", { points, fill: "none", stroke: color, "stroke-width": 2,
      class: "energy-line" }));
  }

  const vocalY = PAD.top + innerH + 4;
  const strip = s("g", { class: "vocals" });
  strip.append(s("rect", { x: PAD.left, y: vocalY, width: innerW, height: VOCAL_BAND_H,
    fill: "#20262e" }));
  for (const [start, end] of vocals) {
    strip.append(s("rect", { x: x(start), y: vocalY, width: Math.max(1, x(end) - x(start)),
      height: VOCAL_BAND_H, fill: "#ffd27a", class: "vocal-phrase" },
    tip(`Vocals ${formatTime(start)}–${formatTime(end)}`)));
  }
  svg.append(strip);

  const axis = s("g", { class: "axis" });
  const step = tickStep(duration);
  for (let t = 0; t <= duration + 0.01; t += step) {
    axis.append(s("line", { x1: x(t), x2: x(t), y1: vocalY + VOCAL_BAND_H + 2,
      y2: vocalY + VOCAL_BAND_H + 6 }));
    axis.append(s("text", { x: x(t), y: PLOT_H - 6, "text-anchor": "middle" }, formatTime(t)));
  }
  axis.append(s("text", { x: 2, y: y(1) + 4 }, "1"));
  axis.append(s("text", { x: 2, y: y(0) + 4 }, "0"));
  svg.append(axis);

  return h("figure", {}, svg, h("figcaption", {},
    "Energy (line), sections (shaded bands, named above), vocal phrases (yellow strip)."));
}

export function songCard(analysis, songs) {
  const color = songColor(songs, analysis.songId);
  const bpm = `${round(analysis.bpm, 1)} BPM`;
  const key = analysis.camelot ? `${analysis.key} · ${analysis.camelot}` : analysis.key;
  const card = h("article", { class: "card song-card", "data-song-id": analysis.songId,
    style: { "--song-color": color } },
  h("h4", {}, songTitle(songs, analysis.songId)),
  h("dl", { class: "facts" },
    fact("Tempo", bpm, `confidence ${round((analysis.bpm_confidence || 0) * 100, 0)} %`),
    fact("Key (Camelot)", key || "unknown",
      `confidence ${round((analysis.key_confidence || 0) * 100, 0)} %`),
    fact("Loudness", `${round(analysis.loudness_lufs, 1)} LUFS`),
    fact("Length", formatTime(analysis.duration_sec)),
    fact("Energy", `${round((analysis.energy || 0) * 100, 0)} %`)),
  energyPlot(analysis, color));
  return card;
}

export function renderSongs(container, state) {
  const analyses = state.analyses || [];
  clear(container);
  for (const analysis of analyses) container.append(songCard(analysis, state.songs || []));
  return analyses.length > 0;
}
