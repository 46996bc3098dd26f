// Destinations to handlers: the pages register here and never see a STOMP frame.

/** Routes each message body to every handler registered for its destination, as
 *  `handler(body, destination, { replayed })`: `replayed` when the broker sent it from its
 *  history, on a resume after a reconnect, rather than as it was published. */
export class Router {
  #handlers = new Map();

  on(destination, handler) {
    this.#handlers.set(destination, [...(this.#handlers.get(destination) ?? []), handler]);
    return this;
  }

  dispatch(destination, body, { replayed = false } = {}) {
    for (const handler of this.#handlers.get(destination) ?? []) {
      handler(body, destination, { replayed });
    }
  }
}
