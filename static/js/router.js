// Destination patterns to handlers: the pages register here and never see a STOMP frame.

function patternToRegExp(pattern) {
  const escaped = pattern.replace(/[.+?^${}()|[\]\\]/g, "\\$&");
  return new RegExp(`^${escaped.replaceAll("*", "[^./]+")}$`);
}

/** Routes each message body to every handler whose pattern matches its destination.
 *  In a pattern `*` stands for one word, as in "/topic/games.*.status". */
export class Router {
  #routes = [];

  on(pattern, handler) {
    this.#routes.push({ match: patternToRegExp(pattern), handler });
    return this;
  }

  dispatch(destination, body) {
    let handled = false;
    for (const { match, handler } of this.#routes) {
      if (match.test(destination)) {
        handler(body, destination);
        handled = true;
      }
    }
    return handled;
  }
}
