// Builds any design by id, on a database of its own.
import type { Design, DesignId } from "../design.js";
import { MemoryQueueDesign } from "../baselines/memory-queue.js";
import { PollingDesign } from "../baselines/polling.js";
import { RawFloorDesign } from "../baselines/raw-floor.js";
import { SynchronousDesign } from "../baselines/synchronous.js";
import { ParleyDesign } from "./parley.js";

export function createDesign(id: DesignId, url: string): Design {
  switch (id) {
    case "parley":
      return new ParleyDesign(url);
    case "synchronous":
      return new SynchronousDesign(url);
    case "memory-queue":
      return new MemoryQueueDesign(url);
    case "polling-10s":
      return new PollingDesign("polling-10s", url, 10_000);
    case "polling-1s":
      return new PollingDesign("polling-1s", url, 1_000);
    case "raw-floor":
      return new RawFloorDesign(url);
  }
}
