/** A manual clock: timers run only when a test advances time. */
export class FakeClock {
  constructor(start = 0) {
    this.time = start;
    this.nextId = 1;
    this.timers = new Map();
    this.now = () => this.time;
    this.setTimeout = (fn, ms = 0) => this.add(fn, ms, null);
    this.setInterval = (fn, ms) => this.add(fn, ms, ms);
    this.clearTimeout = (id) => this.timers.delete(id);
    this.clearInterval = (id) => this.timers.delete(id);
  }

  add(fn, ms, repeat) {
    const id = this.nextId++;
    this.timers.set(id, { fn, at: this.time + Math.max(0, ms), repeat });
    return id;
  }

  /** Milliseconds until each pending timer fires, soonest first. */
  pending() {
    return [...this.timers.values()].map((t) => t.at - this.time).sort((a, b) => a - b);
  }

  /** Move time forward, running due timers in order (and letting their promises settle). */
  async advance(ms) {
    const end = this.time + ms;
    for (;;) {
      let next = null;
      for (const [id, timer] of this.timers) if (timer.at <= end && (!next || timer.at < next[1].at)) next = [id, timer];
      if (!next) break;
      const [id, timer] = next;
      this.time = timer.at;
      if (timer.repeat) timer.at += timer.repeat;
      else this.timers.delete(id);
      timer.fn();
      await new Promise((resolve) => setImmediate(resolve));
    }
    this.time = end;
  }
}
