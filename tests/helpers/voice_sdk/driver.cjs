// Drives a conversation with the real @hamsa-ai/voice-agents-sdk@0.3.1 under Node 20.
//
//   node driver.cjs '<config JSON>'  < steps (one JSON object a line)
//
// config: {sdkDir, apiUrl, wsUrl, apiKey}; sdkDir is the folder holding node_modules with the
// SDK and `ws` (tests/helpers/voice_sdk.py installs them).
//
// Every step and everything observed is written to stdout as one JSON line
// {"t": <ms, monotonic since the driver started>, "name": ..., ...}. Names:
//   sdk:<event>       an event the SDK emitted (start, callStarted, transcriptionReceived,
//                     answerReceived, speaking, listening, info, error, closed, callEnded, ...)
//   recv:<event>      a frame the server sent on the SDK's socket (media: {bytes, seq}; others whole)
//   send:<event>      a frame the SDK (or the driver) sent, except microphone `media` (counted in
//                     `stats`); the driver's own audio is reported as audio:start / audio:end
//   socket:open / socket:close {code, reason} / socket:error
//   tool:call         the SDK called a client tool's fn {name, args}
//   audio:start / audio:end   the first and last quantum of a sendAudio left the microphone
//   step:done {index, do, ok, error?}    one per step, in order
//   stats             counters at exit
//
// Steps ({"do": ...}):
//   start      {agentId, params, voiceEnablement, tools:[{function_name, description, parameters,
//               required, result, delayMs}], idle:"silence"|"none", saveAudio: path}
//              -> new HamsaVoiceAgent(apiKey, {API_URL, WS_URL}).start(...); the step waits for the
//              socket to open (or an error). A tool's fn returns `result` (any JSON) after delayMs.
//   sendAudio  {file, via:"mic"|"socket", pace:1, wait:true}: a 16 kHz mono WAV (PCM16 or
//              float32) or raw float32 LE (.f32). "mic" feeds the fake microphone: the SDK's own
//              recorder worklet sends it, 128 samples a frame, in real time. "socket" writes the
//              SDK's exact frames on agent.webSocketManager.ws at `pace` x real time (0 = as fast
//              as possible), the microphone muted meanwhile.
//   waitFor    {name, match:{field: substring}, timeout}: the next `name` record not yet taken by
//              an earlier waitFor of the same name (records taken in order, so nothing that
//              arrived between two steps is missed).
//   waitQuiet  {name, quietMs, timeout}: until no `name` record for quietMs.
//   sleep      {ms}
//   sendRaw    {frame}: one JSON text frame on the SDK's socket.
//   end        {closeTimeout}: agent.end() (sends {event:"stop"} and closes 1000), then waits for
//              the socket to close.
//   jobDetails {maxRetries, interval, backoff}: agent.getJobDetails(...) -> record job:details.
//   exit       stop reading steps (EOF on stdin does the same).
// A failed step (timeout, exception) is reported with ok:false; the remaining steps are skipped,
// the call is ended, and the driver exits 2.
"use strict";

const fs = require("node:fs");
const path = require("node:path");
const readline = require("node:readline");
const browser = require("./node_browser.cjs");

const T0 = performance.now();
const config = JSON.parse(process.argv[2] || "{}");
const modules = path.join(config.sdkDir, "node_modules");
const WS = require(path.join(modules, "ws"));

const records = []; // every record, in order
const taken = new Map(); // name -> index into records of the last record a waitFor took
const waiters = new Set();
const stats = { sentMedia: 0, sentMediaBytes: 0, recvMedia: 0, recvMediaBytes: 0 };
let received = []; // received PCM16 payloads, when saveAudio is set

function now() {
  return Math.round((performance.now() - T0) * 10) / 10;
}

function emit(name, fields = {}) {
  const record = { t: now(), name, ...fields };
  records.push(record);
  process.stdout.write(JSON.stringify(record) + "\n");
  for (const waiter of [...waiters]) waiter();
  return record;
}

function short(value, limit = 2000) {
  const text = typeof value === "string" ? value : JSON.stringify(value);
  return text && text.length > limit ? text.slice(0, limit) + "…" : value;
}

// --- the socket, recorded -------------------------------------------------------------------

let socket = null;

function recordFrame(direction, data) {
  const text = typeof data === "string" ? data : Buffer.from(data).toString("utf8");
  let frame;
  try {
    frame = JSON.parse(text);
  } catch {
    emit(`${direction}:nonjson`, { text: short(text, 300), binary: typeof data !== "string" });
    return;
  }
  const event = (frame && frame.event) || "unknown";
  if (event === "media") {
    const payload = (frame.media && frame.media.payload) || "";
    const bytes = Buffer.byteLength(payload, "base64");
    if (direction === "send") {
      stats.sentMedia += 1;
      stats.sentMediaBytes += bytes;
      return;
    }
    stats.recvMedia += 1;
    stats.recvMediaBytes += bytes;
    if (received) received.push(Buffer.from(payload, "base64"));
    emit("recv:media", { bytes, seq: stats.recvMedia });
    return;
  }
  const fields = {};
  for (const [key, value] of Object.entries(frame)) {
    if (key !== "event") fields[key] = short(value);
  }
  emit(`${direction}:${event}`, { frame: fields });
}

class RecordingWebSocket extends WS {
  constructor(url, protocols) {
    super(url, protocols);
    socket = this;
    this.addEventListener("open", () => emit("socket:open", { url: redact(url) }));
    this.addEventListener("message", (event) => recordFrame("recv", event.data));
    this.addEventListener("close", (event) =>
      emit("socket:close", { code: event.code, reason: String(event.reason || "") }));
    this.addEventListener("error", (event) =>
      emit("socket:error", { message: String((event && event.message) || event) }));
  }

  send(data, ...rest) {
    recordFrame("send", data);
    return super.send(data, ...rest);
  }
}

function redact(url) {
  return String(url).replace(/api_key=[^&]*/, "api_key=***");
}

const microphone = new browser.FakeMicrophone();
browser.install({
  WebSocketClass: RecordingWebSocket,
  microphone,
  onAlert: (message) => emit("browser:alert", { message: String(message) }),
});
// The SDK logs to the console; keep stdout for records only.
for (const level of ["log", "info", "warn", "error", "debug"]) {
  console[level] = (...args) => process.stderr.write(
    `[sdk ${level}] ${args.map((a) => (a instanceof Error ? a.stack : typeof a === "string" ? a : safeJson(a))).join(" ")}\n`);
}

function safeJson(value) {
  try {
    return JSON.stringify(value);
  } catch {
    return String(value);
  }
}

const { HamsaVoiceAgent } = require(
  path.join(modules, "@hamsa-ai", "voice-agents-sdk", "dist", "index.cjs.js"));

// --- audio files ----------------------------------------------------------------------------

function readAudio(file) {
  const data = fs.readFileSync(file);
  if (file.endsWith(".f32")) {
    return new Float32Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.length));
  }
  if (data.toString("ascii", 0, 4) !== "RIFF" || data.toString("ascii", 8, 12) !== "WAVE") {
    throw new Error(`${file}: not a WAV file (or .f32 raw float32)`);
  }
  let offset = 12;
  let format = null;
  while (offset + 8 <= data.length) {
    const id = data.toString("ascii", offset, offset + 4);
    const size = data.readUInt32LE(offset + 4);
    const body = offset + 8;
    if (id === "fmt ") {
      format = {
        code: data.readUInt16LE(body), channels: data.readUInt16LE(body + 2),
        rate: data.readUInt32LE(body + 4), bits: data.readUInt16LE(body + 14),
      };
      if (format.code === 0xfffe) format.code = data.readUInt16LE(body + 24);
    } else if (id === "data") {
      if (!format) throw new Error(`${file}: data before fmt`);
      if (format.channels !== 1 || format.rate !== 16000) {
        throw new Error(`${file}: need 16 kHz mono, got ${format.rate} Hz x${format.channels}`);
      }
      const end = Math.min(body + size, data.length);
      if (format.code === 1 && format.bits === 16) {
        const out = new Float32Array((end - body) >> 1);
        for (let i = 0; i < out.length; i++) out[i] = data.readInt16LE(body + 2 * i) / 32768;
        return out;
      }
      if (format.code === 3 && format.bits === 32) {
        const out = new Float32Array((end - body) >> 2);
        for (let i = 0; i < out.length; i++) out[i] = data.readFloatLE(body + 4 * i);
        return out;
      }
      throw new Error(`${file}: WAV format ${format.code}/${format.bits} bits not supported`);
    }
    offset = body + size + (size & 1);
  }
  throw new Error(`${file}: no data chunk`);
}

function writeWav(file, pcm) {
  const header = Buffer.alloc(44);
  header.write("RIFF", 0, "ascii");
  header.writeUInt32LE(36 + pcm.length, 4);
  header.write("WAVEfmt ", 8, "ascii");
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(1, 20);
  header.writeUInt16LE(1, 22);
  header.writeUInt32LE(16000, 24);
  header.writeUInt32LE(32000, 28);
  header.writeUInt16LE(2, 32);
  header.writeUInt16LE(16, 34);
  header.write("data", 36, "ascii");
  header.writeUInt32LE(pcm.length, 40);
  fs.writeFileSync(file, Buffer.concat([header, pcm]));
}

// --- waiting --------------------------------------------------------------------------------

function until(condition, timeoutMs, what) {
  return new Promise((resolve, reject) => {
    let timer = null;
    const check = () => {
      let answer;
      try {
        answer = condition();
      } catch (error) {
        waiters.delete(check);
        clearTimeout(timer);
        reject(error);
        return;
      }
      if (answer) {
        waiters.delete(check);
        clearTimeout(timer);
        resolve(answer);
      }
    };
    timer = setTimeout(() => {
      waiters.delete(check);
      reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
    }, timeoutMs);
    waiters.add(check);
    check();
  });
}

function matches(record, match) {
  if (!match) return true;
  return Object.entries(match).every(([key, expected]) => {
    const value = key.split(".").reduce((v, k) => (v == null ? v : v[k]), record);
    return String(value === undefined ? "" : typeof value === "string" ? value : JSON.stringify(value))
      .includes(String(expected));
  });
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// --- steps ----------------------------------------------------------------------------------

let agent = null;

let savePath = null; // where the received agent audio is written at exit (PCM16 WAV)

async function start(step) {
  savePath = step.saveAudio || null;
  if (!savePath) received = null;
  microphone.idle = step.idle || "silence";
  agent = new HamsaVoiceAgent(config.apiKey, { API_URL: config.apiUrl, WS_URL: config.wsUrl });
  for (const event of ["start", "callStarted", "callEnded", "callPaused", "callResumed",
    "closed", "speaking", "listening", "remoteAudioStreamAvailable",
    "localAudioStreamAvailable"]) {
    agent.on(event, () => emit(`sdk:${event}`, event === "callStarted" ? { jobId: agent.jobId } : {}));
  }
  agent.on("transcriptionReceived", (text) => emit("sdk:transcriptionReceived", { text }));
  agent.on("answerReceived", (text) => emit("sdk:answerReceived", { text }));
  agent.on("info", (info) => emit("sdk:info", { info: short(info) }));
  agent.on("error", (error) => emit("sdk:error", {
    message: String((error && error.message) || (error && error.type) || error),
  }));
  const tools = (step.tools || []).map((tool) => ({
    function_name: tool.function_name,
    description: tool.description,
    parameters: tool.parameters || [],
    required: tool.required || [],
    fn: async (...args) => {
      emit("tool:call", { tool: tool.function_name, args });
      if (tool.delayMs) await sleep(tool.delayMs);
      return tool.result;
    },
  }));
  const startedAt = records.length;
  await agent.start({
    agentId: step.agentId, params: step.params || {}, voiceEnablement: !!step.voiceEnablement,
    tools,
  });
  if (!agent.jobId) throw new Error("start: the SDK got no jobId from conversation-init");
  await until(() => records.slice(startedAt).find((r) =>
    ["socket:open", "socket:close", "socket:error"].includes(r.name)), step.timeout || 15000,
  "the socket to open");
  if (!socket || socket.readyState !== WS.OPEN) throw new Error("start: the socket did not open");
  return { jobId: agent.jobId };
}

function liveSocket() {
  const ws = agent && agent.webSocketManager && agent.webSocketManager.ws;
  if (!ws || ws.readyState !== WS.OPEN) throw new Error("the SDK's socket is not open");
  return ws;
}

function frameOf(samples) {
  // The SDK recorder worklet's exact frame: the Float32Array's bytes (little-endian), base64.
  const bytes = Buffer.from(samples.buffer, samples.byteOffset, samples.byteLength);
  return JSON.stringify({ event: "media", streamSid: "WEBSDK", media: { payload: bytes.toString("base64") } });
}

async function sendAudio(step) {
  const samples = readAudio(step.file);
  const seconds = samples.length / 16000;
  const via = step.via || "mic";
  if (via === "mic") {
    const done = new Promise((resolve) => {
      microphone.feed(samples, {
        onStart: () => emit("audio:start", { file: step.file, seconds, via }),
        onDone: () => resolve(emit("audio:end", { file: step.file, seconds, via })),
      });
    });
    if (step.wait === false) return { queued: seconds };
    await done;
    return { seconds };
  }
  const pace = step.pace === undefined ? 1 : step.pace;
  const run = async () => {
    microphone.muted = true;
    try {
      const ws = liveSocket();
      const begin = performance.now();
      emit("audio:start", { file: step.file, seconds, via, pace });
      for (let i = 0, n = 0; i < samples.length; i += browser.QUANTUM, n++) {
        const quantum = new Float32Array(browser.QUANTUM);
        quantum.set(samples.subarray(i, i + browser.QUANTUM));
        ws.send(frameOf(quantum)); // counted in stats.sentMedia, not recorded one by one
        if (pace > 0) {
          const due = begin + ((n + 1) * browser.QUANTUM * 1000) / 16000 / pace;
          const wait = due - performance.now();
          if (wait > 1) await sleep(wait);
        }
      }
      return emit("audio:end", { file: step.file, seconds, via, pace });
    } finally {
      microphone.muted = false;
    }
  };
  if (step.wait === false) {
    run().catch((error) => emit("audio:error", { message: error.message }));
    return { queued: seconds };
  }
  await run();
  return { seconds };
}

async function waitFor(step) {
  const name = step.name;
  const record = await until(() => {
    const from = (taken.get(name) ?? -1) + 1;
    for (let i = from; i < records.length; i++) {
      if (records[i].name === name && matches(records[i], step.match)) {
        taken.set(name, i);
        return records[i];
      }
    }
    return null;
  }, step.timeout || 30000, `${name}${step.match ? " " + JSON.stringify(step.match) : ""}`);
  return { record };
}

async function waitQuiet(step) {
  const quiet = step.quietMs || 700;
  const deadline = performance.now() + (step.timeout || 30000);
  const began = now();
  for (;;) {
    let last = null;
    for (let i = records.length - 1; i >= 0; i--) {
      if (records[i].name === step.name) {
        last = records[i];
        break;
      }
    }
    if (now() - (last ? Math.max(last.t, began) : began) >= quiet) return {};
    if (performance.now() > deadline) {
      throw new Error(`timed out after ${step.timeout || 30000} ms waiting for ${quiet} ms without ${step.name}`);
    }
    await sleep(20);
  }
}

async function end(step) {
  if (!agent) throw new Error("end: no call started");
  const wasOpen = socket && socket.readyState === WS.OPEN;
  agent.end();
  if (wasOpen) {
    await until(() => records.find((r) => r.name === "socket:close"), step.closeTimeout || 10000,
      "the socket to close");
  }
  return {};
}

async function jobDetails(step) {
  const details = await agent.getJobDetails(step.maxRetries || 5, step.interval || 1000,
    step.backoff || 2);
  emit("job:details", { status: details.status, id: details.id });
  return {};
}

const STEPS = {
  start, sendAudio, waitFor, waitQuiet, end, jobDetails,
  sleep: async (step) => { await sleep(step.ms || 0); return {}; },
  sendRaw: async (step) => { liveSocket().send(JSON.stringify(step.frame)); return {}; },
};

async function main() {
  const input = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
  let index = 0;
  let failed = false;
  for await (const line of input) {
    if (!line.trim()) continue;
    const step = JSON.parse(line);
    if (step.do === "exit") break;
    if (failed) {
      emit("step:done", { index: index++, do: step.do, ok: false, error: "skipped" });
      continue;
    }
    const run = STEPS[step.do];
    try {
      if (!run) throw new Error(`unknown step ${step.do}`);
      const result = await run(step);
      emit("step:done", { index: index++, do: step.do, ok: true, ...result });
    } catch (error) {
      failed = true;
      emit("step:done", { index: index++, do: step.do, ok: false, error: String(error && error.message || error) });
      if (agent && socket && socket.readyState === WS.OPEN) agent.end();
    }
  }
  if (agent && socket && socket.readyState === WS.OPEN) {
    agent.end();
    await until(() => socket.readyState === WS.CLOSED, 5000, "the socket to close").catch(() => {});
  }
  emit("stats", stats);
  return failed ? 2 : 0;
}

main().then((code) => {
  if (savePath && received) writeWav(savePath, Buffer.concat(received));
  process.exit(code);
}, (error) => {
  emit("driver:error", { message: String(error && error.stack || error) });
  process.exit(3);
});
