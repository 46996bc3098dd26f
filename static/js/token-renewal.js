// A page's broker token: the one it came with, then fresh ones from the site before each runs out.
import { getJSON } from "./api.js";
import { Backoff, RETRY } from "./backoff.js";

// Tokens live an hour on our broker, ten minutes on RabbitMQ (STOMP_TOKEN_TTL_SECONDS); a page
// renews its own this long before it runs out, so the broker never has to end the connection.
const RENEW_BEFORE_EXPIRY_MS = 10_000;
// A token with less left than this is not worth connecting with.
const USABLE_FOR_MS = 2_000;

/**
 * Holds the page's token (`{token, login, queue_prefix, expires_in}`, as `tokenUrl` gives it:
 * login = the player's own broker user, which a kick closes; passcode = the token; its
 * RabbitMQ queues named `queue_prefix`…) and renews it before it expires, handing each new one
 * to `onRenewed(token)`. A renewal the site does not answer is tried again on the backoff; one
 * it refuses (kicked, not a player) goes to `onRefused(error)`, after which no more are asked
 * for. `onUnreachable()` hears each fetch the site did not answer.
 */
export class TokenRenewal {
  #current = null;
  #expiresAt = 0;
  #timer = null;
  #wake = null;
  #stopped = false;

  constructor({ tokenUrl, firstToken, onRenewed, onRefused, onUnreachable = () => {},
                backoff = new Backoff(RETRY) }) {
    this.tokenUrl = tokenUrl;
    this.onRenewed = onRenewed;
    this.onRefused = onRefused;
    this.onUnreachable = onUnreachable;
    this.backoff = backoff;
    this.#take(firstToken);
  }

  /** The token to connect with, or null if it ran out or the broker refused it. */
  get current() {
    return this.#current && this.#expiresAt - Date.now() > USABLE_FOR_MS ? this.#current : null;
  }

  /** The broker refused the current token (an ERROR): connect with a new one next time. */
  discard() {
    this.#current = null;
  }

  /** A token to connect with: the current one, or one fetched now, and again after each wait
   *  of the backoff while the site does not answer. null once refused or stopped. */
  async fresh() {
    while (!this.#stopped) {
      if (this.current) return this.current;
      const token = await this.#fetch();
      if (token) return token;
      await this.#sleep(this.backoff.next());
    }
    return null;
  }

  /** Fetch a new token now for `onRenewed` (the broker refused the current one). */
  renewNow() {
    clearTimeout(this.#timer);
    this.#renew();
  }

  /** End a wait between fetches now (the browser is online again); whether one was waiting. */
  wake() {
    if (!this.#wake) return false;
    this.#wake();
    return true;
  }

  stop() {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#wake?.();
  }

  #take(token) {
    this.#current = token;
    this.#expiresAt = Date.now() + token.expires_in * 1000;
    this.backoff.reset();
    clearTimeout(this.#timer);
    const lifetimeMs = token.expires_in * 1000;
    this.#timer = setTimeout(() => this.#renew(),
                             Math.max(lifetimeMs - RENEW_BEFORE_EXPIRY_MS, lifetimeMs / 2));
  }

  async #renew() {
    const token = await this.#fetch();
    if (token) this.onRenewed(token);
    else if (!this.#stopped) this.#timer = setTimeout(() => this.#renew(), this.backoff.next());
  }

  /** A new token (now the current one), or null if the site did not answer or refused. */
  async #fetch() {
    let token;
    try {
      token = await getJSON(this.tokenUrl);
    } catch (error) {
      if (this.#stopped) return null;
      if (error.refused) {
        this.stop();
        this.onRefused(error);
      } else {
        this.onUnreachable();
      }
      return null;
    }
    if (this.#stopped) return null;
    this.#take(token);
    return token;
  }

  #sleep(ms) {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#wake = null;
        resolve();
      }, ms);
      this.#wake = () => {
        clearTimeout(timer);
        this.#wake = null;
        resolve();
      };
    });
  }
}
