// Top-k of a score stream without sorting everything: a bounded min-heap keyed like compareScored
// (the heap root is the WORST kept candidate), so equal scores keep the lower index deterministically.
import { compareScored, type Scored } from './selection.js';

export class TopK {
  private readonly heap: Scored[] = [];
  constructor(private readonly k: number) {}

  /** The score a new candidate must beat (or tie with a lower index) to enter; -Infinity until full. */
  get floor(): number {
    return this.heap.length < this.k ? -Infinity : this.heap[0].score;
  }

  push(index: number, score: number): void {
    if (this.k <= 0) return;
    const h = this.heap;
    if (h.length < this.k) {
      h.push({ index, score });
      this.siftUp(h.length - 1);
    } else if (worse(h[0], { index, score })) {
      h[0] = { index, score };
      this.siftDown(0);
    }
  }

  /** The kept candidates, best first. */
  sorted(): Scored[] {
    return [...this.heap].sort(compareScored);
  }

  private siftUp(i: number): void {
    const h = this.heap;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!worse(h[i], h[parent])) break;
      [h[i], h[parent]] = [h[parent], h[i]];
      i = parent;
    }
  }

  private siftDown(i: number): void {
    const h = this.heap;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let w = i;
      if (l < h.length && worse(h[l], h[w])) w = l;
      if (r < h.length && worse(h[r], h[w])) w = r;
      if (w === i) return;
      [h[i], h[w]] = [h[w], h[i]];
      i = w;
    }
  }
}

/** True when a ranks below b (lower score, or the same score and a higher index). */
function worse(a: Scored, b: Scored): boolean {
  return compareScored(a, b) > 0;
}
