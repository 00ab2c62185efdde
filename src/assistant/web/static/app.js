// The assistant's page: a chat, the microphone (push-to-talk and hands-free), the reply's
// voice, ringing timers and the room's timers panel, over /api/session and the HTTP API.
"use strict";

const $ = (id) => document.getElementById(id);
const state = {
  ws: null, voice: "off", talking: false, audio: null, mic: null, nextRate: 0,
  sources: [], playAt: 0, timers: [], ring: null, retry: 500, loggedIn: false,
};
// For tests and curious users: what the page has played, and when things happened
// (performance.now() milliseconds; scripts/bench_web_client.py reads them).
window.assistantAudio = { sentences: 0, samples: 0, peak: 0, beeps: 0 };
const stats = (window.assistantStats = { typed: [], sentAt: null, micStart: null, micSamples: 0, replies: [], awaitingAudio: false, partials: [], events: [] });
const room = () => $("room").value.trim() || "web";

// -- the chat -----------------------------------------------------------------------------
function say(text, kind) {
  const item = document.createElement("li");
  item.className = kind;
  item.textContent = text;
  $("log").append(item);
  item.scrollIntoView({ block: "end" });
}

function send(message) {
  if (state.ws && state.ws.readyState === WebSocket.OPEN) { state.ws.send(JSON.stringify(message)); return true; }
  say("Not connected yet.", "error");
  return false;
}

$("ask").addEventListener("submit", (event) => {
  event.preventDefault();
  const text = $("text").value.trim();
  if (text && send({ type: "text", text })) { say(text, "user"); $("text").value = ""; stats.sentAt = performance.now(); }
});

// -- the session --------------------------------------------------------------------------
function connect() {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  const ws = new WebSocket(`${scheme}//${location.host}/api/session?room=${encodeURIComponent(room())}`);
  ws.binaryType = "arraybuffer";
  state.ws = ws;
  ws.onopen = () => { state.retry = 500; };
  ws.onmessage = (message) => (typeof message.data === "string" ? onEvent(JSON.parse(message.data)) : onAudio(message.data));
  ws.onclose = (closed) => {
    if (state.ws !== ws) return;
    setStatus("offline — reconnecting…", true);
    if (closed.code === 4401) { showLogin(); return; }
    setTimeout(connect, state.retry);
    state.retry = Math.min(state.retry * 2, 3000);
  };
}

function setStatus(text, offline) {
  $("status").textContent = text;
  $("status").classList.toggle("offline", Boolean(offline));
}

const handlers = {
  hello: (e) => {
    setStatus(`connected · ${e.session}`);
    document.body.dataset.session = e.session;
    if (state.voice !== "off") send({ type: "voice", mode: state.voice });
    refreshTimers();
  },
  partial: (e) => { $("partial").textContent = e.text; stats.partials.push(e.text); },
  wake: () => { $("partial").textContent = "…"; stopPlayback(); },
  progress: (e) => say(e.text, "interim"),
  error: (e) => say(e.message, "error"),
  audio: (e) => { state.nextRate = e.sample_rate_hz; },
  audio_stop: () => stopPlayback(),
  voice: (e) => voiceReady(e.mode),
  stopped: () => stopRinging(),
  notification: (e) => { say(e.text, "notification"); ring(e.text); refreshTimers(); },
};

function onEvent(event) {
  stats.events.push(event.event || "turn");
  if (!event.event) return onTurn(event);
  (handlers[event.event] || handlers.notification)(event);
}

function onTurn(turn) {
  $("partial").textContent = "";
  if (turn.transcript && (turn.speech || turn.reply)) {
    const heard = turn.utterance || {};
    stats.replies.push({ turnAt: performance.now(), afterSpeechS: turn.after_speech_s, endS: heard.end_s, audioAt: null });
    stats.awaitingAudio = true;
  } else if (stats.sentAt !== null) {
    stats.typed.push(performance.now() - stats.sentAt);
    stats.sentAt = null;
  }
  if (turn.transcript && (turn.transcript.text || turn.text)) say(turn.transcript.text || turn.text, "user");
  if (turn.reply) say(turn.reply, "assistant");
  // "stop" said or typed while a timer rings: the reminders skill stopped it.
  if (turn.skill === "reminders" && ["stop_alarm", "snooze", "cancel", "cancel_all"].includes(turn.action)) stopRinging();
  refreshTimers();
}

// -- the reply's voice --------------------------------------------------------------------
function audioContext() {
  if (!state.audio) {
    state.audio = new AudioContext();
    state.tap = state.audio.createAnalyser();
    state.tap.connect(state.audio.destination);
  }
  if (state.audio.state === "suspended") state.audio.resume();
  return state.audio;
}

function onAudio(data) {
  const context = audioContext();
  if (stats.awaitingAudio) { stats.replies[stats.replies.length - 1].audioAt = performance.now(); stats.awaitingAudio = false; }
  const samples = new Int16Array(data);
  const buffer = context.createBuffer(1, samples.length, state.nextRate || 22050);
  const channel = buffer.getChannelData(0);
  let peak = 0;
  for (let i = 0; i < samples.length; i++) { channel[i] = samples[i] / 32768; peak = Math.max(peak, Math.abs(channel[i])); }
  const source = context.createBufferSource();
  source.buffer = buffer;
  source.connect(state.tap);
  const start = Math.max(context.currentTime, state.playAt);
  source.start(start);
  state.playAt = start + buffer.duration;
  state.sources.push(source);
  source.onended = () => { state.sources = state.sources.filter((s) => s !== source); };
  window.assistantAudio.sentences += 1;
  window.assistantAudio.samples += samples.length;
  window.assistantAudio.peak = Math.max(window.assistantAudio.peak, peak);
}

function stopPlayback() {
  for (const source of state.sources) { try { source.stop(); } catch (_) { /* already ended */ } }
  state.sources = [];
  state.playAt = 0;
}

// -- ringing ------------------------------------------------------------------------------
function ring(text) {
  $("ringing-text").textContent = text;
  $("ringing").hidden = false;
  if (state.ring) return;
  const context = audioContext();
  const beep = () => {
    const tone = context.createOscillator();
    const gain = context.createGain();
    tone.frequency.value = 880;
    gain.gain.value = 0.2;
    tone.connect(gain).connect(state.tap);
    tone.start();
    tone.stop(context.currentTime + 0.25);
    window.assistantAudio.beeps += 1;
  };
  beep();
  state.ring = setInterval(beep, 1000);
}

function stopRinging() {
  clearInterval(state.ring);
  state.ring = null;
  $("ringing").hidden = true;
}

function stopAll() { stopRinging(); stopPlayback(); send({ type: "stop" }); }
$("ring-stop").addEventListener("click", stopAll);
$("stop").addEventListener("click", stopAll);

// -- the microphone -----------------------------------------------------------------------
async function microphone() {
  if (state.mic) return state.mic;
  const context = audioContext();
  await context.audioWorklet.addModule("/static/mic-worklet.js");
  const stream = await navigator.mediaDevices.getUserMedia({
    audio: { channelCount: 1, echoCancellation: true, noiseSuppression: true },
  });
  const node = new AudioWorkletNode(context, "downsampler");
  node.port.onmessage = (message) => {
    if (stats.micStart === null) stats.micStart = performance.now() - 30; // the first 30 ms frame
    // Push-to-talk streams all along too: the server hears only what is said while the button
    // is held, and measures the room's noise meanwhile.
    if (state.voice !== "off" && state.ws && state.ws.readyState === WebSocket.OPEN) {
      state.ws.send(message.data);
      stats.micSamples += message.data.byteLength / 2; // where the server's stream is
    }
  };
  context.createMediaStreamSource(stream).connect(node);
  state.mic = node;
  return node;
}

// The server opens its voice session first, then the microphone starts: no word is lost.
function setVoice(mode) {
  state.voice = mode;
  send({ type: "voice", mode });
}

async function voiceReady(mode) {
  $("hands-free").setAttribute("aria-pressed", String(mode === "hands_free"));
  document.body.dataset.voice = mode;
  if (mode === "off") return;
  try {
    await microphone();
  } catch (error) {
    say(`No microphone: ${error.message} (browsers allow it on https or localhost only).`, "error");
    setVoice("off");
  }
}

$("hands-free").addEventListener("click", () => setVoice(state.voice === "hands_free" ? "off" : "hands_free"));

async function talk(on) {
  if (on && state.voice !== "push_to_talk") setVoice("push_to_talk");
  if (state.talking === on) return;
  state.talking = on;
  $("talk").classList.toggle("active", on);
  if (on) stopPlayback();
  send({ type: "talk", on });
}
$("talk").addEventListener("pointerdown", () => talk(true));
for (const name of ["pointerup", "pointerleave", "pointercancel"]) $("talk").addEventListener(name, () => talk(false));

// -- timers and reminders -----------------------------------------------------------------
async function api(path, options = {}) {
  const response = await fetch(path, { credentials: "same-origin", ...options });
  if (response.status === 401) { showLogin(); throw new Error("log in first"); }
  return response;
}

async function refreshTimers() {
  try {
    const response = await api(`/api/reminders?room=${encodeURIComponent(room())}`);
    if (response.ok) { state.timers = (await response.json()).reminders; renderTimers(); }
  } catch (_) { /* offline: the next refresh tries again */ }
}

function left(timer) {
  if (timer.paused) return timer.paused_left_s || 0;
  return timer.next_run_time ? Math.max(0, (Date.parse(timer.next_run_time) - Date.now()) / 1000) : 0;
}

function clock(seconds) {
  const s = Math.ceil(seconds);
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
  return (h ? `${h}:${String(m).padStart(2, "0")}` : `${m}`) + `:${String(r).padStart(2, "0")}`;
}

function renderTimers() {
  const list = $("timers");
  list.replaceChildren();
  $("no-timers").hidden = state.timers.length > 0;
  for (const timer of state.timers) {
    const item = document.createElement("li");
    item.dataset.id = timer.id;
    const label = document.createElement("span");
    label.textContent = `${timer.name || timer.text || timer.kind} `;
    const countdown = document.createElement("span");
    countdown.className = "countdown";
    const where = document.createElement("span");
    where.className = "room-name";
    where.textContent = ` · ${timer.room || "this machine"}`;
    item.append(label, countdown, where, document.createElement("br"));
    const verbs = timer.recurring ? ["cancel"] : [timer.paused ? "resume" : "pause", "cancel"];
    for (const verb of verbs) {
      const button = document.createElement("button");
      button.type = "button";
      button.textContent = verb[0].toUpperCase() + verb.slice(1);
      button.className = verb;
      button.onclick = () => changeTimer(timer.id, verb);
      item.append(button, " ");
    }
    list.append(item);
  }
  tick();
}

function tick() {
  for (const item of $("timers").children) {
    const timer = state.timers.find((t) => t.id === item.dataset.id);
    if (timer) item.querySelector(".countdown").textContent = timer.recurring ? "repeats" : clock(left(timer));
  }
}
setInterval(tick, 250);
setInterval(refreshTimers, 5000);

async function changeTimer(id, verb) {
  const path = `/api/reminders/${encodeURIComponent(id)}` + (verb === "cancel" ? "" : `/${verb}`);
  await api(`${path}?room=${encodeURIComponent(room())}`, { method: verb === "cancel" ? "DELETE" : "POST" });
  refreshTimers();
}

// -- skills -------------------------------------------------------------------------------
async function loadSkills() {
  const response = await api("/api/skills");
  const list = $("skills");
  list.replaceChildren();
  for (const skill of (await response.json()).skills) {
    const item = document.createElement("li");
    const name = document.createElement("strong");
    name.textContent = skill.name;
    const about = document.createElement("div");
    about.textContent = skill.description;
    const permissions = document.createElement("div");
    permissions.className = "perm";
    permissions.textContent = skill.permissions.length ? `may use: ${skill.permissions.join(", ")}` : "no permissions";
    item.append(name, about, permissions);
    for (const sentence of skill.examples.slice(0, 4)) {
      const example = document.createElement("div");
      example.className = "example";
      example.textContent = `“${sentence}”`;
      example.onclick = () => { $("text").value = sentence; $("text").focus(); };
      item.append(example);
    }
    list.append(item);
  }
}

// -- logging in, starting -----------------------------------------------------------------
function showLogin() {
  $("app").hidden = true;
  $("login").hidden = false;
  setStatus("log in", true);
}

$("login").addEventListener("submit", async (event) => {
  event.preventDefault();
  const response = await fetch("/api/login", {
    method: "POST", headers: { "Content-Type": "application/json" }, credentials: "same-origin",
    body: JSON.stringify({ token: $("token").value }),
  });
  if (!response.ok) { $("login-error").textContent = "Wrong token."; return; }
  $("login-error").textContent = "";
  $("login").hidden = true;
  start();
});

$("room").addEventListener("change", () => {
  localStorage.setItem("assistant-room", room());
  if (state.ws) { const old = state.ws; state.ws = null; old.close(); }
  connect();
});

function start() {
  $("app").hidden = false;
  connect();
  loadSkills().catch(() => {});
}

async function main() {
  $("room").value = new URLSearchParams(location.search).get("room") || localStorage.getItem("assistant-room") || "web";
  try {
    const health = await (await fetch("/api/health", { credentials: "same-origin" })).json();
    if (health.login_required && !health.authorized) { showLogin(); return; }
  } catch (_) {
    setStatus("offline — reconnecting…", true);
    setTimeout(main, 1000);
    return;
  }
  start();
}
main();
