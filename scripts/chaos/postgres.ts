// The chaos run's own PostgreSQL: embedded, on a free port, in a directory of
// its own, so that restarting it never touches a server anyone else uses.
// `restart` is a clean fast shutdown and start (what `pg_ctlcluster restart`
// does); `crash` is an immediate shutdown (SIGQUIT to the postmaster, as
// `pg_ctl stop -m immediate`): no checkpoint, WAL recovery on the next start.
import { readFile, rm } from "node:fs/promises";
import net from "node:net";
import path from "node:path";
import { startEmbeddedPostgres, type EmbeddedDatabase } from "../../src/db/embedded.js";

export class ChaosPostgres {
  private constructor(
    private server: EmbeddedDatabase | null,
    readonly dataDir: string,
    readonly port: number,
  ) {}

  static async start(dataDir: string): Promise<ChaosPostgres> {
    const port = await freePort();
    const server = await startEmbeddedPostgres({ dataDir, port, persistent: true });
    return new ChaosPostgres(server, dataDir, port);
  }

  url(database = "postgres"): string {
    return `postgres://postgres:postgres@127.0.0.1:${this.port}/${database}`;
  }

  /** Stops and starts the server; resolves once it accepts connections again. Returns the seconds it was down. */
  async restart(): Promise<number> {
    const down = performance.now();
    await this.server?.stop();
    this.server = await this.boot();
    return (performance.now() - down) / 1000;
  }

  /** Kills the server as a crash would and starts it again (crash recovery). Returns the seconds it was down. */
  async crash(): Promise<number> {
    const down = performance.now();
    const pid = await this.postmasterPid();
    process.kill(pid, "SIGQUIT");
    while (alive(pid)) await sleep(50);
    // The old handle's process is gone: dropping it is all there is to do.
    this.server = await this.boot();
    return (performance.now() - down) / 1000;
  }

  async stop(): Promise<void> {
    await this.server?.stop().catch(() => {});
    this.server = null;
    await rm(this.dataDir, { recursive: true, force: true });
  }

  private async boot(): Promise<EmbeddedDatabase> {
    // Right after an exit the port can linger for a moment.
    for (let attempt = 0; ; attempt++) {
      try {
        return await startEmbeddedPostgres({ dataDir: this.dataDir, port: this.port, persistent: true });
      } catch (error) {
        if (attempt >= 20) throw new Error(`chaos: the embedded PostgreSQL did not come back on port ${this.port}`, { cause: error });
        await sleep(250);
      }
    }
  }

  private async postmasterPid(): Promise<number> {
    const text = await readFile(path.join(this.dataDir, "postmaster.pid"), "utf8");
    const pid = Number(text.split("\n")[0]);
    if (!Number.isInteger(pid) || pid <= 0) throw new Error(`chaos: no postmaster pid in ${this.dataDir}/postmaster.pid`);
    return pid;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
