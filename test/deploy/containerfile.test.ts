import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  containerfileProblems,
  parseContainerfile,
  runtimeWorkspaceDirs,
  serverFacts,
} from "../../deploy/src/index.ts";

const REPO = join(import.meta.dirname, "..", "..");
const text = readFileSync(join(REPO, "deploy", "Containerfile"), "utf8");
const servers = serverFacts().map((f) => `servers/${f.name}`);
const runtime = runtimeWorkspaceDirs(REPO, servers);

// Building the image takes minutes here (no registry: a local base, an offline install from the host's pnpm
// store), so CI checks its definition; docs/kubernetes.md has the build that was run and its figures.
describe("the container image definition", () => {
  it("is multi-stage, non-root, without package managers, compilers or dev dependencies", () => {
    expect(containerfileProblems(text, runtime)).toEqual([]);
  });

  it("copies exactly the workspace packages the servers import at run time, and no test tooling", () => {
    expect(runtime).toEqual(
      expect.arrayContaining(["packages/kit", "packages/governance", "packages/store"]),
    );
    for (const leftOut of ["packages/sandbox", "packages/testing", "packages/cli"])
      expect(runtime).not.toContain(leftOut);
  });

  it("starts a server chosen by its command, and the default command is a real entry point", () => {
    const cmd = parseContainerfile(text)
      .filter((i) => i.keyword === "CMD")
      .at(-1)!;
    const [entry, transport] = JSON.parse(cmd.args) as string[];
    expect(existsSync(join(REPO, entry!))).toBe(true);
    expect(transport).toBe("http");
  });

  it("keeps host installs and tests out of the build context", () => {
    const ignore = readFileSync(join(REPO, "deploy", "Containerfile.dockerignore"), "utf8").split("\n");
    expect(ignore).toEqual(expect.arrayContaining(["**/node_modules", "**/test", ".git"]));
  });

  it("rejects definitions that break a rule, naming it", () => {
    const swap = (from: string | RegExp, to: string) => {
      const changed = text.replace(from, to);
      expect(changed).not.toBe(text);
      return containerfileProblems(changed, runtime).join("\n");
    };
    expect(swap("USER 10001:10001", "USER root")).toMatch(/USER must be a numeric non-root uid/);
    expect(swap("USER 10001:10001", "USER 0")).toMatch(/USER must be a numeric non-root uid/);
    expect(swap("install --frozen-lockfile --prod", "install --frozen-lockfile")).toMatch(
      /pnpm install needs --prod/,
    );
    expect(swap("COPY packages/kit/ packages/kit/\n", "")).toMatch(/the servers import exactly/);
    expect(
      swap(
        "COPY packages/kit/ packages/kit/",
        "COPY packages/kit/ packages/kit/\nCOPY packages/sandbox/ packages/sandbox/",
      ),
    ).toMatch(/the deps stage copies .*packages\/sandbox/);
    expect(
      swap("WORKDIR /app", "WORKDIR /app\nRUN apt-get update && apt-get install -y build-essential"),
    ).toMatch(/installs system packages or a compiler/);
    expect(swap("COPY --from=deps /src/ /app/", "COPY . /app/")).toMatch(
      /copies from outside the deps stage/,
    );
    expect(swap('ENTRYPOINT ["node"]', 'ENTRYPOINT ["sh", "-c"]')).toMatch(/entry point must be \["node"\]/);
    expect(containerfileProblems("FROM scratch\nCOPY . /\n", runtime)).toEqual([
      "must be multi-stage: a deps stage and a runtime stage",
    ]);
  });
});
