// The `azusa` command: serve, migrate, create the first operator, verify the audit chain, build the workspace image.
import { readFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { Command } from "commander";
import { type Config, ConfigError, loadConfig, StartupError, settings } from "./config.ts";
import { system } from "./kernel/actor.ts";
import { AppError } from "./kernel/errors.ts";
import { nameProblem } from "./kernel/text.ts";
import { baseImageTag, buildBaseImage, imageExists } from "./provisioner/base-image.ts";
import { createDockerClient, dockerProbe } from "./provisioner/docker-engine.ts";
import { buildAzusa, reachDatabase, startAzusa } from "./server.ts";

function config(): Config {
  try {
    return loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`azusa: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
}

async function readSecretLine(prompt: string): Promise<string> {
  if (!process.stdin.isTTY) {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks)
      .toString("utf8")
      .replace(/\r?\n$/, "");
  }
  const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: true });
  // Hide what is typed: readline echoes through _writeToOutput.
  const out = rl as unknown as { _writeToOutput: (s: string) => void };
  process.stderr.write(prompt);
  out._writeToOutput = () => {};
  const answer = await new Promise<string>((resolve) => rl.question("", resolve));
  rl.close();
  process.stderr.write("\n");
  return answer;
}

// Output piped into `head` and the like: a closed pipe ends the command quietly, as for any Unix tool.
process.stdout.on("error", (err: NodeJS.ErrnoException) => {
  if (err.code === "EPIPE") process.exit(0);
  throw err;
});

const program = new Command("azusa").description(
  "Azusa: Tokyo contracts, engineers in satellite offices, controlled workspaces",
);

program
  .command("serve")
  .description("migrate the database, then serve the API")
  .action(async () => {
    const running = await startAzusa(config());
    const shutdown = (signal: string) => {
      running.azusa.logger.info({ signal }, "shutting down");
      running.stop().then(
        () => process.exit(0),
        () => process.exit(1),
      );
    };
    process.once("SIGTERM", () => shutdown("SIGTERM"));
    process.once("SIGINT", () => shutdown("SIGINT"));
  });

program
  .command("migrate")
  .description("bring the database up to date")
  .action(async () => {
    const conf = config();
    const azusa = buildAzusa(conf);
    await reachDatabase(azusa.db, conf);
    const applied = await azusa.migrate();
    process.stdout.write(applied.length ? `applied: ${applied.join(", ")}\n` : "database is up to date\n");
    await azusa.close();
  });

const admin = program.command("admin").description("manage operators");
admin
  .command("create")
  .description("create an operator; the password is read from standard input (or prompted for)")
  .requiredOption("--email <email>", "the operator's email")
  .option("--name <name>", "display name", "Operator")
  .action(async (opts: { email: string; name: string }) => {
    const name = opts.name.trim();
    const problem = nameProblem(name);
    if (problem) {
      process.stderr.write(`azusa: --name ${problem}\n`);
      process.exit(2);
    }
    const password = await readSecretLine("Password (12 characters or more): ");
    if (password.length < 12) {
      process.stderr.write("azusa: password must be at least 12 characters\n");
      process.exit(2);
    }
    const azusa = buildAzusa(config());
    await azusa.migrate();
    try {
      const user = await azusa.accounts.createOperator(system("cli"), { email: opts.email, name, password });
      process.stdout.write(`operator created: ${user.email} (${user.id})\n`);
    } catch (err) {
      if (err instanceof AppError) {
        process.stderr.write(`azusa: ${err.message}\n`);
        process.exitCode = 1;
      } else throw err;
    } finally {
      await azusa.close();
    }
  });

const audit = program.command("audit").description("the audit log");
audit
  .command("verify")
  .description("walk the keyed hash chain; exit 1 naming the first changed or removed event")
  .option("--checkpoints <file>", "also check the chain against the signed checkpoints in this file")
  .action(async (opts: { checkpoints?: string }) => {
    let lines: string[] | null = null;
    if (opts.checkpoints) {
      try {
        lines = readFileSync(opts.checkpoints, "utf8").split("\n");
      } catch (err) {
        process.stderr.write(
          `azusa: --checkpoints: cannot read ${opts.checkpoints} (${(err as NodeJS.ErrnoException).code})\n`,
        );
        process.exitCode = 2;
        return;
      }
    }
    const azusa = buildAzusa(config());
    const result = lines ? await azusa.audit.verifyCheckpoints(lines) : await azusa.audit.verify();
    await azusa.close();
    if (result.ok) {
      const against = "checkpoints" in result ? `, ${result.checkpoints} checkpoints agree` : "";
      process.stdout.write(`audit chain intact: ${result.checked} events${against}\n`);
    } else {
      process.stdout.write(`audit chain broken at event ${result.firstBad?.seq}: ${result.firstBad?.problem}\n`);
      process.exitCode = 1;
    }
  });

const image = program.command("image").description("workspace images, built here without a registry");
image
  .command("build")
  .description("build the default workspace image (Debian bookworm by debootstrap, then docker import)")
  .option("--tag <tag>", "the image's tag", baseImageTag)
  .option("--force", "build again even when the image exists")
  .action(async (opts: { tag: string; force?: boolean }) => {
    const docker = createDockerClient(config().docker);
    try {
      await dockerProbe(docker).ping();
    } catch (err) {
      process.stderr.write(
        `azusa: the Docker engine is not reachable (${(err as Error).message}); start dockerd first\n`,
      );
      process.exit(1);
    }
    if (!opts.force && (await imageExists(docker, opts.tag))) {
      process.stdout.write(`${opts.tag} is already built; --force builds it again\n`);
      return;
    }
    const started = Date.now();
    try {
      await buildBaseImage({ tag: opts.tag }, (line) => process.stderr.write(`${line}\n`));
    } catch (err) {
      process.stderr.write(`azusa: ${(err as Error).message}\n`);
      process.exit(1);
    }
    process.stdout.write(`${opts.tag} built in ${Math.round((Date.now() - started) / 1000)} s\n`);
  });

program
  .command("settings")
  .description("list the environment variables Azusa reads")
  .action(() => {
    for (const s of settings) {
      const fallback = s.default === undefined ? "" : ` (default ${s.default})`;
      process.stdout.write(`${s.name.padEnd(20)} ${s.description}${fallback}\n`);
    }
  });

try {
  await program.parseAsync(process.argv);
} catch (err) {
  // A setting that names something unusable ends the command as a bad setting does: one line, exit 2.
  if (err instanceof StartupError) {
    process.stderr.write(`azusa: ${err.message}\n`);
    process.exit(2);
  }
  throw err;
}
