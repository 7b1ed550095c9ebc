// What every command-line entry point shares: a user mistake gets one clear line and exit code 2,
// never a stack trace; a bug still shows its stack.
import { accessSync, constants, mkdirSync, realpathSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { UserError } from './errors.ts';

export const EXIT_USAGE = 2;

/** Makes the folder if need be and checks that files can be written there, before any long work. */
export function ensureWritableDir(dir: string, flag: string): void {
  try {
    mkdirSync(dir, { recursive: true });
    accessSync(dir, constants.W_OK);
  } catch (error) {
    throw new UserError(`${flag} ${dir} cannot be written to: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
}

/** Checks that a file the user named exists and is a file, before anything reads it. */
export function ensureReadableFile(file: string, flag: string): void {
  let isFile = false;
  try {
    isFile = statSync(file).isFile();
  } catch (error) {
    throw new UserError(`${flag} ${file} cannot be read: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  if (!isFile) throw new UserError(`${flag} ${file} is not a file`);
}

/** --redis URL: redis://HOST:PORT or redis://HOST:PORT/DB (rediss:// for TLS), else a one-line UserError. */
export function redisUrlFlag(text: string, flag = '--redis'): string {
  if (!/^rediss?:\/\/[^/]+(\/\d+)?$/.test(text)) throw new UserError(`${flag} ${text}: expected redis://HOST:PORT or redis://HOST:PORT/DB`);
  return text;
}

/** A flag's whole-number value within [min, max], or a UserError naming the flag and the range. */
export function wholeNumberFlag(text: string, flag: string, min: number, max = Number.MAX_SAFE_INTEGER, otherwise?: string): number {
  const value = Number(text);
  if (text.trim() === '' || !Number.isInteger(value) || value < min || value > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `of ${min} or more` : `from ${min} to ${max}`;
    throw new UserError(`${flag} must be a whole number ${range}${otherwise ? ` ${otherwise}` : ''}, not "${text}"`);
  }
  return value;
}

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

/** One subcommand of the tool (`mqtt-multisession-conformance run|broker|certs|probe|provision`). */
export interface Command {
  usage: string;
  /** Parses `args` (the arguments after the subcommand) and does the work; throws UserError for a user mistake. */
  main(args: string[]): Promise<void>;
}

export function runCommand(command: Command, args: string[]): Promise<void> {
  return runCli(command.usage, () => command.main(args));
}

/** True when the module at `moduleUrl` is the script node was started with (`node --import tsx certs/cli.ts`). */
export function isEntryPoint(moduleUrl: string): boolean {
  const script = process.argv[1];
  if (!script) return false;
  try {
    return realpathSync(script) === realpathSync(fileURLToPath(moduleUrl));
  } catch {
    return false;
  }
}
