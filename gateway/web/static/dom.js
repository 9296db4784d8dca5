// Small DOM and SVG helpers. Text always goes in through textContent, never as HTML.

const SVG_NS = "http://www.w3.org/2000/svg";

/** h("p", {class: "x", style: {color: "red"}}, "text", child) → element. */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  setAttrs(el, attrs);
  append(el, children);
  return el;
}

/** s("rect", {x: 1}) → an SVG element. */
export function s(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  setAttrs(el, attrs);
  append(el, children);
  return el;
}

function setAttrs(el, attrs) {
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "style" && typeof value === "object") {
      // Through the CSSOM: a style="" attribute is inline style, which the page's CSP refuses.
      for (const [prop, propValue] of Object.entries(value)) el.style.setProperty(prop, propValue);
      continue;
    }
    el.setAttribute(name, value === true ? "" : String(value));
  }
}

function append(el, children) {
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** An SVG <title>: the tooltip and the accessible name of its parent. */
export const tip = (text) => s("title", {}, text);

export function clear(el) {
  while (el.firstChild) el.firstChild.remove();
  return el;
}

export function formatTime(sec) {
  const total = Math.max(0, Math.round(Number(sec) || 0));
  return `${Math.floor(total / 60)}:${String(total % 60).padStart(2, "0")}`;
}

export function formatBytes(bytes) {
  if (bytes >= 1e9) return `${(bytes / 1e9).toFixed(1)} GB`;
  if (bytes >= 1e6) return `${(bytes / 1e6).toFixed(1)} MB`;
  return `${Math.max(1, Math.round(bytes / 1e3))} kB`;
}

export const SONG_COLORS = ["#7cc4ff", "#ffb86b", "#b99cff", "#7fe0a0", "#ff8fb8", "#e6e36b"];

/** A stable colour per song, by its position in the job's song list. */
export function songColor(songs, songId) {
  const index = songs.findIndex((song) => song.id === songId);
  return SONG_COLORS[(index < 0 ? 0 : index) % SONG_COLORS.length];
}

export function songTitle(songs, songId) {
  const song = songs.find((item) => item.id === songId);
  return (song && (song.title || song.id)) || songId;
}
