// One client's view of the stream. Live changes offered while the client's
// backlog is still being written wait; then everything goes out once, in log
// order, skipping what the client already has.
import { matchesFilter, type PositionedChange, type StreamFilter } from "./changes.js";
import { comparePositions, maxPosition, type Position } from "./position.js";

export class StreamCursor {
  private live = false;
  private waiting: PositionedChange[] = [];
  private last: Position;

  constructor(private readonly filter: StreamFilter, start: Position, private readonly send: (item: PositionedChange) => void) {
    this.last = start;
  }

  /** The position of the last change sent (or the start): where a reconnect resumes. */
  get position(): Position {
    return this.last;
  }

  /** A live change from the hub. */
  offer(item: PositionedChange): void {
    if (!matchesFilter(item.change, this.filter)) return;
    if (this.live) this.deliver(item);
    else this.waiting.push(item);
  }

  /** A change read from the log (already filtered, in order). */
  deliver(item: PositionedChange): void {
    if (comparePositions(item.at, this.last) <= 0) return;
    this.last = item.at;
    this.send(item);
  }

  /** The backlog is written; `floor` is a position the client is known to be past. */
  goLive(floor?: Position): void {
    if (floor !== undefined) this.last = maxPosition(this.last, floor);
    const waiting = this.waiting.sort((a, b) => comparePositions(a.at, b.at));
    this.waiting = [];
    this.live = true;
    for (const item of waiting) this.deliver(item);
  }
}
