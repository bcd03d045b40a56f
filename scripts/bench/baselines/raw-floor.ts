// The raw floor: the same rows inserted with a plain multi-row INSERT, no
// validation, no queue, nothing processed. What the hardware allows.
import { benchPool } from "../database.js";
import type { Design } from "../design.js";
import type { Payload } from "../payloads.js";
import { insertConversations } from "./plain-sql.js";

export class RawFloorDesign implements Design {
  readonly id = "raw-floor" as const;
  readonly processes = false;
  readonly pool;

  constructor(readonly url: string, poolSize = 8) {
    this.pool = benchPool(url, poolSize, "parley-bench-raw");
  }

  async write(payload: Payload): Promise<void> {
    await insertConversations(this.pool, [payload]);
  }

  async writeMany(payloads: readonly Payload[]): Promise<void> {
    await insertConversations(this.pool, payloads);
  }

  async startProcessing(): Promise<void> {}
  async stopProcessing(): Promise<void> {}

  backgroundPids(): number[] {
    return [];
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
