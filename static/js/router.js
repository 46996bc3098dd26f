// Destinations to handlers: the pages register here and never see a STOMP frame.

/** Routes each message body to every handler registered for its destination. */
export class Router {
  #handlers = new Map();

  on(destination, handler) {
    this.#handlers.set(destination, [...(this.#handlers.get(destination) ?? []), handler]);
    return this;
  }

  dispatch(destination, body) {
    for (const handler of this.#handlers.get(destination) ?? []) handler(body, destination);
  }
}
