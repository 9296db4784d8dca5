// The mashability result in words: the pair score, how the keys and tempos relate, who
// sings over whose instrumental, and the pitch shifts.

import { clear, h, songTitle } from "./dom.js";

const KEY_RELATIONS = {
  same: "the same key",
  relative: "relative keys (relative major and minor, sharing every note)",
  "+1": "neighbouring keys on the Camelot wheel (one step up)",
  "-1": "neighbouring keys on the Camelot wheel (one step down)",
  diagonal: "diagonal neighbours on the Camelot wheel",
  modal: "parallel keys (same root note, major against minor)",
  energy_boost: "keys a semitone apart, good for an energy-boost key change",
  clash: "clashing keys",
};

const TEMPO_RELATIONS = {
  direct: "play at nearly the same tempo",
  half: "fit with one at half the other's tempo",
  double: "fit with one at double the other's tempo",
  "3:2": "fit in a 3:2 tempo relation",
  "2:3": "fit in a 2:3 tempo relation",
  clash: "have tempos too far apart to lock together cleanly",
};

/** A word for an overall score 0..100. */
export function scoreWord(score) {
  if (score >= 85) return "an excellent match";
  if (score >= 70) return "a good match";
  if (score >= 55) return "a workable match";
  if (score >= 35) return "a risky match";
  return "a poor match";
}

const fixed = (value, digits = 1) => Number(value || 0).toFixed(digits);

/** Capitalised, with exactly one full stop at the end. */
function sentence(text) {
  const trimmed = String(text).trim();
  const body = trimmed.charAt(0).toUpperCase() + trimmed.slice(1);
  return /[.!?]$/.test(body) ? body : `${body}.`;
}

function shiftWords(shifts, songs) {
  const moved = Object.entries(shifts || {}).filter(([, semitones]) => Number(semitones) !== 0);
  if (!moved.length) return "No pitch shift is needed.";
  return "Pitch shift: " + moved.map(([id, semitones]) => {
    const n = Number(semitones);
    return `${songTitle(songs, id)} ${n > 0 ? "up" : "down"} ${Math.abs(n)} semitone${Math.abs(n) === 1 ? "" : "s"}`;
  }).join("; ") + ".";
}

export function pairSentences(pair, songs) {
  const a = songTitle(songs, pair.a);
  const b = songTitle(songs, pair.b);
  const sentences = [];
  const harmonic = pair.harmonic || {};
  if (harmonic.type) {
    const relation = KEY_RELATIONS[harmonic.type] || harmonic.type;
    sentences.push(`Keys: ${relation}; ${harmonic.quality || "unrated"} (${fixed(harmonic.score, 0)}/100).` +
      (harmonic.recommendation ? ` ${sentence(harmonic.recommendation)}` : ""));
  }
  const rhythmic = pair.rhythmic || {};
  if (rhythmic.relation) {
    const relation = TEMPO_RELATIONS[rhythmic.relation] || `relate as ${rhythmic.relation}`;
    sentences.push(`Tempo: ${fixed(rhythmic.bpm_a)} and ${fixed(rhythmic.bpm_b)} BPM ${relation}` +
      `; about ${fixed(Math.abs(rhythmic.stretch_percent))} % time-stretch (${fixed(rhythmic.score, 0)}/100).`);
  }
  const spectral = pair.spectral || {};
  if (spectral.clash_bands) {
    sentences.push(spectral.clash_bands.length
      ? `Frequencies: both crowd the ${spectral.clash_bands.join(", ")} band${spectral.clash_bands.length > 1 ? "s" : ""}, so one gets carved out there.`
      : "Frequencies: they sit in different ranges and do not crowd each other.");
  }
  const vocal = pair.vocal || {};
  if (vocal.clash !== undefined) {
    sentences.push(vocal.clash
      ? "Vocals: both sing at the same moments, so only one voice is used at a time."
      : "Vocals: they do not sing over each other.");
  }
  const rec = pair.recommended || {};
  if (rec.vocal_source && rec.instrumental_source) {
    sentences.push(`${songTitle(songs, rec.vocal_source)} sings over ${songTitle(songs, rec.instrumental_source)}'s instrumental` +
      (rec.targetBPM ? `, at ${fixed(rec.targetBPM)} BPM` : "") +
      (rec.targetKey ? ` in ${rec.targetKey}` : "") + ".");
  }
  if (rec.pitch_shift_semitones) sentences.push(shiftWords(rec.pitch_shift_semitones, songs));
  return { title: `${a} + ${b}`, sentences };
}

export function renderMatch(container, state) {
  const scores = state.mashabilityScore;
  clear(container);
  if (!scores) return false;
  const songs = state.songs || [];
  const overall = Number(scores.overall || 0);
  container.append(h("p", {}, h("span", { class: "score", id: "match-score" }, `${fixed(overall, 0)}/100`),
    ` — ${scoreWord(overall)}.`));
  if (scores.best_pair && scores.best_pair.length === 2 && (scores.pairs || []).length > 1) {
    container.append(h("p", {}, `Best pair: ${songTitle(songs, scores.best_pair[0])} and ${songTitle(songs, scores.best_pair[1])}.`));
  }
  for (const pair of scores.pairs || []) {
    const { title, sentences } = pairSentences(pair, songs);
    container.append(h("div", { class: "pair" },
      h("h4", {}, `${title}: ${fixed(pair.score, 0)}/100`),
      h("ul", {}, sentences.map((text) => h("li", {}, text)))));
  }
  return true;
}
