// The few browser pieces @hamsa-ai/voice-agents-sdk@0.3.1 touches, for Node 20.
//
// What the SDK's dist/index.cjs.js uses (read from the 0.3.1 tarball, spec hamsa-clients.md §1b):
//   * globalThis.WebSocket          -> the `ws` package (Node 20 has no WebSocket). The SDK reads
//                                      WebSocket.OPEN, sets on{open,message,close,error} and
//                                      reads `event.data` as text: `ws` gives exactly that.
//   * window.AudioContext           -> FakeAudioContext below. The SDK's player and recorder each
//                                      create one with {sampleRate: 16000}, a gain node, a
//                                      MediaStreamDestination, and load an AudioWorklet module
//                                      from a Blob URL (URL.createObjectURL, which Node 20 has).
//   * AudioWorkletNode              -> FakeAudioWorkletNode: it RUNS the SDK's own worklet code
//                                      (the player "audio-player-processor" and the recorder
//                                      "audio-processor") on a real-time clock of 128-sample
//                                      render quanta (8 ms at 16 kHz), with a real MessageChannel
//                                      between node and processor. So the SDK's own player
//                                      queues the PCM16 it receives, plays it at real speed,
//                                      drops it on `clear` and posts `mark` back only once the
//                                      audio queued before the mark has played; and the SDK's own
//                                      recorder encodes microphone quanta as its `media` frames.
//   * navigator.mediaDevices.getUserMedia -> a fake microphone (FakeMicrophone) whose samples
//                                      the driver feeds from a file; between utterances it gives
//                                      silence (as a real open microphone does) or, with
//                                      idle "none", no input at all (the recorder then sends
//                                      nothing, like a disconnected source).
//   * navigator.wakeLock absent     -> the SDK logs "not supported" and carries on.
//   * alert()                       -> called by the SDK only when getUserMedia fails; recorded.
//
// Nothing here imitates the server: it is the browser side the SDK expects.
"use strict";

const { resolveObjectURL } = require("node:buffer");
const { MessageChannel } = require("node:worker_threads");

const QUANTUM = 128;

let pendingPort = null; // the port the processor being constructed receives

class AudioWorkletProcessor {
  constructor() {
    this.port = pendingPort;
  }
}

async function moduleSource(url) {
  if (url.startsWith("blob:")) {
    const blob = resolveObjectURL(url);
    if (!blob) throw new Error(`no Blob behind ${url}`);
    return blob.text();
  }
  if (url.startsWith("data:")) {
    return decodeURIComponent(url.slice(url.indexOf(",") + 1));
  }
  throw new Error(`worklet module URL not supported here: ${url.slice(0, 40)}`);
}

// One clock drives every context: each tick renders the quanta that real time says are due.
const contexts = new Set();
let clock = null;
const MAX_QUANTA_PER_TICK = 64; // after a stall, catch up by at most 64 quanta (0.5 s) a tick

function tick() {
  const now = performance.now();
  for (const ctx of contexts) {
    const due = Math.floor(((now - ctx._startedAt) / 1000) * ctx.sampleRate / QUANTUM);
    let budget = MAX_QUANTA_PER_TICK;
    while (ctx._quanta < due && budget-- > 0) ctx._render();
    if (ctx._quanta < due - MAX_QUANTA_PER_TICK) ctx._quanta = due; // drop what cannot be caught
  }
}

function startClock(ctx) {
  contexts.add(ctx);
  if (!clock) clock = setInterval(tick, 2);
}

function stopClock(ctx) {
  contexts.delete(ctx);
  if (contexts.size === 0 && clock) {
    clearInterval(clock);
    clock = null;
  }
}

class FakeMediaStream {
  constructor(source) {
    this.source = source;
    this.active = true;
  }

  getTracks() {
    return [{ kind: "audio", stop: () => { this.active = false; } }];
  }

  getAudioTracks() {
    return this.getTracks();
  }
}

class FakeAudioContext {
  constructor({ sampleRate = 48000 } = {}) {
    this.sampleRate = sampleRate;
    this.state = "running";
    this.destination = { kind: "destination" };
    this._registry = new Map();
    this._nodes = [];
    this._quanta = 0;
    this._startedAt = performance.now();
    this.audioWorklet = {
      addModule: async (url) => {
        const code = await moduleSource(url);
        const register = (name, cls) => this._registry.set(name, cls);
        new Function("AudioWorkletProcessor", "registerProcessor", code)(
          AudioWorkletProcessor, register);
      },
    };
    startClock(this);
  }

  get currentTime() {
    return (this._quanta * QUANTUM) / this.sampleRate;
  }

  createGain() {
    return {
      gain: { value: 1, setValueAtTime(value) { this.value = value; } },
      connect() {},
      disconnect() {},
    };
  }

  createMediaStreamDestination() {
    return { stream: new FakeMediaStream(null), connect() {}, disconnect() {} };
  }

  createMediaStreamSource(stream) {
    return {
      connect: (node) => { node._source = stream.source; },
      disconnect() {},
    };
  }

  async resume() {
    this.state = "running";
  }

  async close() {
    this.state = "closed";
    stopClock(this);
    for (const node of this._nodes) node._close();
  }

  _render() {
    this._quanta += 1;
    for (const node of this._nodes) node._render();
  }
}

class FakeAudioWorkletNode {
  constructor(ctx, name) {
    const Processor = ctx._registry.get(name);
    if (!Processor) throw new Error(`AudioWorkletNode: no processor registered as ${name}`);
    const { port1, port2 } = new MessageChannel();
    pendingPort = port2;
    try {
      this._processor = new Processor();
    } finally {
      pendingPort = null;
    }
    this.port = port1;
    this._ctx = ctx;
    this._name = name;
    this._source = null; // a FakeMicrophone once a MediaStreamSource is connected
    this._closed = false;
    ctx._nodes.push(this);
    FakeAudioWorkletNode.created.push(this);
  }

  connect() {}

  disconnect() {
    this._close();
  }

  _close() {
    if (this._closed) return;
    this._closed = true;
    this._ctx._nodes = this._ctx._nodes.filter((n) => n !== this);
    this.port.close();
    if (this._processor.port) this._processor.port.close();
  }

  _render() {
    if (this._closed) return;
    const input = this._source ? this._source.pull(QUANTUM) : [];
    const output = [new Float32Array(QUANTUM)];
    this._processor.process([input], [output], {});
    if (this.onOutput) this.onOutput(output[0]);
  }
}
FakeAudioWorkletNode.created = [];

// The microphone: what getUserMedia returns is fed by the driver.
class FakeMicrophone {
  constructor() {
    this.queue = []; // [{samples: Float32Array, offset, onStart, onDone}]
    this.idle = "silence"; // "silence" | "none"
    this.muted = false; // while the driver writes media frames on the socket itself
  }

  feed(samples, { onStart, onDone } = {}) {
    this.queue.push({ samples, offset: 0, onStart, onDone, started: false });
  }

  pull(n) {
    if (this.muted) return [];
    if (this.queue.length === 0) return this.idle === "none" ? [] : [new Float32Array(n)];
    const out = new Float32Array(n);
    let filled = 0;
    while (filled < n && this.queue.length > 0) {
      const item = this.queue[0];
      if (!item.started) {
        item.started = true;
        if (item.onStart) item.onStart();
      }
      const take = Math.min(n - filled, item.samples.length - item.offset);
      out.set(item.samples.subarray(item.offset, item.offset + take), filled);
      item.offset += take;
      filled += take;
      if (item.offset >= item.samples.length) {
        this.queue.shift();
        if (item.onDone) item.onDone();
      }
    }
    return [out];
  }
}

function install({ WebSocketClass, microphone, onAlert }) {
  globalThis.window = globalThis;
  globalThis.WebSocket = WebSocketClass;
  globalThis.AudioContext = FakeAudioContext;
  globalThis.AudioWorkletNode = FakeAudioWorkletNode;
  Object.defineProperty(globalThis, "navigator", {
    value: {
      userAgent: "node",
      mediaDevices: {
        getUserMedia: async () => new FakeMediaStream(microphone),
      },
    },
    configurable: true,
    writable: true,
  });
  globalThis.alert = (message) => onAlert(message);
}

module.exports = {
  FakeAudioContext, FakeAudioWorkletNode, FakeMicrophone, FakeMediaStream, install, QUANTUM,
};
