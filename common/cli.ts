// What every command-line entry point shares: a user mistake gets one clear line and exit code 2,
// never a stack trace; a bug still shows its stack.

/** A problem the user can fix (bad flag, bad file, unreachable target): shown as its message alone. */
export class UserError extends Error {
  override name = 'UserError';
}

export const EXIT_USAGE = 2;

function isArgumentError(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code ?? '';
  return code.startsWith('ERR_PARSE_ARGS_');
}

export async function runCli(usage: string, main: () => Promise<unknown>): Promise<void> {
  try {
    await main();
  } catch (error) {
    if (isArgumentError(error)) {
      console.error(`error: ${(error as Error).message}\n${usage}`);
      process.exitCode = EXIT_USAGE;
    } else if (error instanceof UserError) {
      console.error(`error: ${error.message}`);
      process.exitCode = EXIT_USAGE;
    } else {
      console.error(error);
      process.exitCode = 1;
    }
  }
}
