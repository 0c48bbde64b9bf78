/** A tiny typed event emitter, so the sans-IO core does not depend on node:events. */
export class Emitter<Events extends { [K in keyof Events]: (...args: never[]) => void }> {
  private readonly handlers = new Map<keyof Events, Array<Events[keyof Events]>>();

  on<K extends keyof Events>(event: K, fn: Events[K]): this {
    const list = this.handlers.get(event) ?? [];
    list.push(fn);
    this.handlers.set(event, list);
    return this;
  }

  off<K extends keyof Events>(event: K, fn: Events[K]): this {
    const list = this.handlers.get(event);
    if (list) {
      const i = list.indexOf(fn);
      if (i >= 0) list.splice(i, 1);
    }
    return this;
  }

  emit<K extends keyof Events>(event: K, ...args: Parameters<Events[K]>): void {
    const list = this.handlers.get(event);
    if (!list) return;
    for (const fn of [...list]) (fn as (...a: Parameters<Events[K]>) => void)(...args);
  }

  listenerCount(event: keyof Events): number {
    return this.handlers.get(event)?.length ?? 0;
  }
}
