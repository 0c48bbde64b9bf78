import type { MaybePromise } from "../session/store.js";
import { unexpected } from "./common.js";
import type { HandshakeContext, HandshakeState, Incoming } from "./context.js";

/**
 * A state waiting for an asynchronous answer (a session store on the network). The Connection
 * stops processing input, keeps it in order, and goes on with the resolved state. No input can
 * reach this state itself.
 */
export class Pending implements HandshakeState {
  readonly name = "Pending";
  constructor(readonly promise: Promise<HandshakeState>) {}
  handle(_ctx: HandshakeContext, input: Incoming): HandshakeState {
    throw unexpected(this.name, input);
  }
}

/** Runs `next` with the value now if it is synchronous, or as a Pending state when it is a Promise. */
export function after<T>(value: MaybePromise<T>, next: (v: T) => HandshakeState): HandshakeState {
  if (value instanceof Promise) return new Pending(value.then(next));
  return next(value);
}

/** Like `after`, but a failure of the store counts as "nothing found" (reported through `onError`). */
export function afterOr<T>(
  value: () => MaybePromise<T>,
  fallback: T,
  onError: (e: unknown) => void,
  next: (v: T) => HandshakeState,
): HandshakeState {
  let v: MaybePromise<T>;
  try {
    v = value();
  } catch (e) {
    onError(e);
    return next(fallback);
  }
  if (v instanceof Promise) {
    return new Pending(
      v.then(
        (x) => next(x),
        (e: unknown) => {
          onError(e);
          return next(fallback);
        },
      ),
    );
  }
  return next(v);
}
