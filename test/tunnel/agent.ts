import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import type { AgentReply, AgentRequest } from "./agent-client.ts";

const AGENT_CLIENT = join(dirname(fileURLToPath(import.meta.url)), "agent-client.ts");

type Op = AgentRequest extends infer R ? (R extends { id: number } ? Omit<R, "id"> : never) : never;

/** The suite's handle on the MCP client process running in the agent namespace (see agent-client.ts). */
export class RemoteAgent {
  private readonly child: ChildProcess;
  private readonly pending = new Map<number, (r: AgentReply) => void>();
  private nextId = 1;
  private stderr = "";

  constructor(prefix: string[], env: Record<string, string> = {}) {
    this.child = spawn(prefix[0]!, [...prefix.slice(1), process.execPath, AGENT_CLIENT], {
      stdio: ["pipe", "pipe", "pipe"],
      env: { ...process.env, NODE_NO_WARNINGS: "1", ...env },
    });
    this.child.stderr!.setEncoding("utf8");
    this.child.stderr!.on("data", (c: string) => {
      this.stderr = (this.stderr + c).slice(-16 * 1024);
    });
    createInterface({ input: this.child.stdout! }).on("line", (line) => {
      const r = JSON.parse(line) as AgentReply;
      this.pending.get(r.id)?.(r);
      this.pending.delete(r.id);
    });
    this.child.once("exit", (code) => {
      for (const [id, resolve] of this.pending)
        resolve({ id, ok: false, error: `the agent process exited (${code}):\n${this.stderr}`, ms: 0 });
      this.pending.clear();
    });
  }

  /** Sends one request; resolves with the agent's reply (never rejects: failures are replies too). */
  request(op: Op): Promise<AgentReply> {
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.pending.set(id, resolve);
      this.child.stdin!.write(`${JSON.stringify({ ...op, id })}\n`);
    });
  }

  /** Like `request`, but a failure throws with the agent's message. */
  async value<T>(op: Op): Promise<T> {
    const r = await this.request(op);
    if (!r.ok) throw new Error(`agent ${op.op} failed: ${r.error}`);
    return r.value as T;
  }

  async stop() {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = once(this.child, "exit");
    const t = setTimeout(() => this.child.kill("SIGKILL"), 3000);
    await this.request({ op: "close" }).catch(() => undefined);
    this.child.stdin!.end();
    await exited;
    clearTimeout(t);
  }
}
