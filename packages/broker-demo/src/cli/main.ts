import { consumeCommand, createTopicCommand, describeCommand, produceCommand } from './client-commands.js';
import { clusterCommand, killCommand, restartCommand, startCommand } from './cluster-commands.js';
import { type CliCommand, PNPM, UsageError } from './command.js';

/** `broker COMMAND ...`: the demo broker's command line. */
const COMMANDS: readonly CliCommand[] = [
  clusterCommand,
  startCommand,
  createTopicCommand,
  produceCommand,
  consumeCommand,
  describeCommand,
  killCommand,
  restartCommand,
];

const USAGE = `usage: ${PNPM} broker COMMAND [options]   (${PNPM} broker COMMAND --help for one command)
${COMMANDS.map((c) => `  ${c.name.padEnd(13)}${c.summary}`).join('\n')}`;

/**
 * Exit codes: 0 done; 1 the command ran and failed (a cluster it cannot
 * reach, a topic that does not exist, records not acknowledged, a refusal);
 * 2 the command line is wrong (the command's usage goes to stderr).
 */
async function main(argv: string[]): Promise<void> {
  const [name, ...args] = argv;
  if (name === undefined || name === 'help' || name === '--help' || name === '-h') {
    const topic = name === 'help' ? COMMANDS.find((c) => c.name === args[0]) : undefined;
    console.log(topic?.help ?? USAGE);
    return;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (command === undefined) {
    console.error(`broker: unknown command ${JSON.stringify(name)}\n${USAGE}`);
    process.exitCode = 2;
    return;
  }
  if (args.includes('--help') || args.includes('-h')) {
    console.log(command.help);
    return;
  }
  try {
    await command.run(args);
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (err instanceof UsageError || (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS'))) {
      console.error(`broker ${command.name}: ${(err as Error).message}\n${command.help}`);
      process.exitCode = 2;
      return;
    }
    throw err;
  }
}

main(process.argv.slice(2)).catch((err: unknown) => {
  const code = (err as { code?: unknown }).code;
  console.error(
    `error${typeof code === 'string' ? ` [${code}]` : ''}: ${err instanceof Error ? err.message : String(err)}`,
  );
  process.exitCode = 1;
});
