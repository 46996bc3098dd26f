// What the connection modules' tests run against instead of the network: fetch, a STOMP
// broker behind WebSocket, and EventSource, each answered by the test.
import assert from "node:assert/strict";

/** Let every promise the modules are waiting on run to its end. */
export async function settle() {
  for (let i = 0; i < 20; i += 1) await new Promise((resolve) => setImmediate(resolve));
}

/** Stands in for fetch (api.js calls the global one): each request waits until the test
 *  answers it (`answer`) or the site is out of reach (`fail`). */
export function fakeFetch(t) {
  const realFetch = globalThis.fetch;
  const pending = [];
  const urls = [];
  globalThis.fetch = (url) => {
    urls.push(url);
    return new Promise((resolve, reject) => pending.push({ resolve, reject }));
  };
  t.after(() => {
    globalThis.fetch = realFetch;
  });
  return {
    urls,
    get waiting() {
      return pending.length;
    },
    async answer(body, status = 200) {
      assert.ok(pending.length > 0, "no request to answer");
      pending.shift().resolve({ ok: status < 300, status, statusText: "",
                                json: async () => body });
      await settle();
    },
    async fail() {
      assert.ok(pending.length > 0, "no request to fail");
      pending.shift().reject(new TypeError("Failed to fetch"));
      await settle();
    },
  };
}

/** One STOMP frame's text as a {command, headers, body}. */
function parseFrame(text) {
  const [head, ...rest] = text.replace(/^\n+/, "").split("\n\n");
  const [command, ...lines] = head.split("\n");
  const headers = Object.fromEntries(lines.map((line) => {
    const colon = line.indexOf(":");
    return [line.slice(0, colon), line.slice(colon + 1)];
  }));
  return { command, headers, body: rest.join("\n\n") };
}

function frameText(command, headers, body = "") {
  const lines = Object.entries(headers).map(([name, value]) => `${name}:${value}`);
  return `${command}\n${lines.join("\n")}\n\n${body}\0`;
}

/**
 * A STOMP broker behind the global WebSocket: while `up`, a socket opens and the broker
 * answers CONNECT, and every frame with a receipt (a SUBSCRIBE's RECEIPT says `resume`,
 * "resumed" or "too-old"); while down, sockets are refused. While `silent`, it answers nothing
 * and never closes (a blackhole). `sockets` lists every socket the page opened.
 */
export function fakeBroker(t) {
  const broker = { up: true, silent: false, resume: "resumed", sockets: [] };

  class FakeWebSocket extends EventTarget {
    constructor(url) {
      super();
      this.url = url;
      this.readyState = 0;
      this.frames = [];
      broker.sockets.push(this);
      queueMicrotask(() => {
        if (broker.silent) return;
        if (broker.up) {
          this.readyState = 1;
          this.fire("open", {});
        } else {
          this.drop();
        }
      });
    }

    send(data) {
      const text = typeof data === "string" ? data : new TextDecoder().decode(data);
      for (const raw of text.split("\0")) {
        if (raw.trim() === "") continue;
        const frame = parseFrame(raw);
        this.frames.push(frame);
        if (!broker.silent) queueMicrotask(() => this.answer(frame));
      }
    }

    answer({ command, headers }) {
      if (this.readyState !== 1) return;
      if (command === "CONNECT") {
        this.receive("CONNECTED", { version: "1.2", "heart-beat": "0,0" });
      } else if (headers.receipt) {
        const resume = command === "SUBSCRIBE" ? { "x-stream-resume": broker.resume } : {};
        this.receive("RECEIPT", { "receipt-id": headers.receipt, ...resume });
      }
    }

    /** A frame from the broker. */
    receive(command, headers, body = "") {
      this.fire("message", { data: frameText(command, headers, body) });
    }

    /** A heart-beat from the broker, if the socket is open. */
    beat() {
      if (this.readyState === 1) this.fire("message", { data: "\n" });
    }

    /** The frames the page sent with this command. */
    sent(command) {
      return this.frames.filter((frame) => frame.command === command);
    }

    close() {
      if (this.readyState === 3) return;
      this.readyState = 3;
      queueMicrotask(() => this.fire("close", { code: 1000, wasClean: true }));
    }

    /** The connection ends without a close from the page (the broker died). */
    drop() {
      this.readyState = 3;
      this.fire("close", { code: 1006, wasClean: false });
    }

    fire(type, properties) {
      const event = Object.assign(new Event(type), properties);
      this[`on${type}`]?.(event);
      this.dispatchEvent(event);
    }
  }

  const realWebSocket = globalThis.WebSocket;
  globalThis.WebSocket = FakeWebSocket;
  t.after(() => {
    globalThis.WebSocket = realWebSocket;
  });
  return broker;
}

/** EventSource as the page's HTTP fallback uses it: `streams` lists each one opened, and
 *  `ready(stream, data, id)` is the broker's `ready` event on it. */
export function fakeEventSource(t) {
  const streams = [];
  class FakeEventSource extends EventTarget {
    static CLOSED = 2;

    constructor(url) {
      super();
      this.url = new URL(url, "http://site.test");
      this.readyState = 0;
      streams.push(this);
    }

    close() {
      this.readyState = 2;
    }
  }
  const real = globalThis.EventSource;
  globalThis.EventSource = FakeEventSource;
  t.after(() => {
    globalThis.EventSource = real;
  });
  return {
    streams,
    ready(stream, data, id) {
      stream.onopen?.(new Event("open"));
      stream.dispatchEvent(Object.assign(new Event("ready"),
                                         { data: JSON.stringify(data), lastEventId: String(id) }));
    },
  };
}
