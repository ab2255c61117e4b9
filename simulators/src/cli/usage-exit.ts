import type { Command, CommanderError } from 'commander';

/**
 * The exit codes the simulator CLI shares with the gateway CLIs (gateway/src/cli/usage-exit.ts; simulators do not import the gateway): 0 after `--help`/`--version`, 2 for a usage error
 * (unknown option, missing or bad argument) with the message and a pointer to `--help` on stderr.
 */
export function withUsageExit<T extends Command>(program: T): T {
  program.showHelpAfterError('(run with --help for usage)');
  program.exitOverride((error: CommanderError) => {
    const ok = error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.code === 'commander.help';
    process.exit(ok ? 0 : 2);
  });
  return program;
}
