// Following the game's topics over HTTP (Server-Sent Events), where WebSockets are blocked.

// The broker ends each event-stream response within 20 s and the browser comes back at once:
// no response for this long is a lost connection.
const HTTP_SILENCE_MS = 30_000;
// A stream refused (an expired token) opens again after this if no new token came first.
const REOPEN_AFTER_REFUSAL_MS = 15_000;

/**
 * Follow `destinations` (each must keep history) over Server-Sent Events from the broker's
 * /sse at `url` (broker/GUIDE.md, "HTTP subscribers"), one EventSource each, with the token
 * `tokens` (a TokenRenewal) holds: the same messages, each event's id its offset, each handed
 * to `deliver(message, replayed)`. The first response says where each topic stands (a `ready`
 * event), or resumes after the offset this page applied last (`offsets`); the browser then
 * reconnects by itself after each response with Last-Event-ID, which resumes without a gap.
 * `onSubscribed({resumed})` runs once every destination is ready, and again if the broker
 * says a resume was too old. `onState` hears "connecting", "offline", and "live" once a
 * stream that was away answers again in order. A refused stream (an expired token) asks for
 * a new token with `onExpired()`; `useToken(token)` reopens every stream with it where it
 * was (or they reopen after REOPEN_AFTER_REFUSAL_MS if none comes). Nothing is sent this way:
 * `send` resolves false, for the page to POST instead.
 */
export function openHttpTransport({ url, tokens, destinations, offsets, deliver, onSubscribed,
                                    onState, onExpired }) {
  let sources = [];
  let silence = null;
  let retry = null; // reopens after a refusal, if no new token reopened first
  let current = tokens.current?.token ?? "";
  const open = () => {
    clearTimeout(retry);
    sources.forEach((source) => source.close());
    let waiting = destinations.length;
    let resumed = true;
    sources = destinations.map((destination) => {
      const query = new URLSearchParams({ destination, access_token: current });
      if (offsets.has(destination)) query.set("offset", String(offsets.get(destination) + 1));
      const source = new EventSource(`${url}?${query}`);
      let first = true;
      let away = false; // a response failed since this stream last said anything
      // The messages kept while this page was away: those before `ready` when it resumes,
      // and those of the first response after the broker was out of reach.
      let replaying = offsets.has(destination);
      const answered = () => {
        if (!away) return;
        away = false;
        onState("live", "http");
      };
      source.onmessage = (event) => {
        answered();
        deliver({ headers: { destination, "x-stream-offset": event.lastEventId },
                  body: event.data }, replaying);
      };
      source.addEventListener("ready", (event) => {
        replaying = false;
        const { resume } = JSON.parse(event.data);
        offsets.set(destination, Number.parseInt(event.lastEventId, 10));
        if (!first) {
          if (resume === "too-old") onSubscribed({ resumed: false });
          else answered();
          return;
        }
        first = false;
        if (resume !== "resumed") resumed = false;
        if (--waiting === 0) onSubscribed({ resumed });
      });
      let responded = false; // whether a response came since the last error
      source.onopen = () => {
        responded = true;
        clearTimeout(silence);
      };
      source.onerror = () => {
        clearTimeout(silence);
        if (source.readyState === EventSource.CLOSED) {
          onState("offline");
          onExpired();
          clearTimeout(retry);
          retry = setTimeout(open, REOPEN_AFTER_REFUSAL_MS);
          return;
        }
        // A response that ended is the browser's cue to ask again; no response at all is
        // the broker out of reach.
        if (responded) {
          silence = setTimeout(() => onState("offline"), HTTP_SILENCE_MS);
        } else {
          away = !first;
          onState("offline");
        }
        replaying = !responded;
        responded = false;
      };
      return source;
    });
  };
  onState("connecting");
  open();
  return {
    useToken(token) {
      current = token.token;
      open();
    },
    reopen: open,
    send: async () => false,
    close() {
      clearTimeout(silence);
      clearTimeout(retry);
      sources.forEach((source) => source.close());
    },
  };
}
