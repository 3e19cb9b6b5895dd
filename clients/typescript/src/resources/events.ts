/** `client.events`: the payment event stream (the same watcher as `payments.watch()`). */

import { Resource } from "./base.js";
import { Watcher, type WatchOptions } from "../watch.js";

export class Events extends Resource {
  /** Payment events as they are committed, resumed from the watcher's cursor across reconnects. */
  watch(options: WatchOptions = {}): Watcher {
    return new Watcher(this.transport, options);
  }
}
