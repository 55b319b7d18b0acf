/**
 * The command-line parser of `cpgd` (no dependency): long options as `--opt value` or
 * `--opt=value`, flags without a value, `--` ends the options, everything else is positional.
 * Every problem is a UsageError with a one-line message naming the option.
 */

import { CpgdError } from '../core/errors.js';

/** A mistake in the command line itself: unknown option, missing value, missing argument... */
export class UsageError extends CpgdError {
  constructor(message: string) {
    super('invalid-option', message);
    this.name = 'UsageError';
  }
}

export interface OptionSpec {
  /** Long name without the dashes, e.g. `psf`. */
  name: string;
  /** Name of the value for the help (`SPEC`, `N`...); absent for a flag. */
  value?: string;
  /** One-letter alias (without the dash). */
  short?: string;
  /** What it does, with its unit (one or more sentences; wrapped by the help printer). */
  help: string;
  /** The default, as shown in the help; absent for required options and flags. */
  default?: string;
  /** Must be given. */
  required?: boolean;
  /** May be given several times (all values in ParsedArgs.lists). */
  repeatable?: boolean;
}

export interface CommandSpec {
  name: string;
  /** `cpgd detect IMAGE [options]` */
  usage: string;
  summary: string;
  /** Positional arguments, in order (all required). */
  positionals: { name: string; help: string }[];
  options: OptionSpec[];
  /** Extra paragraphs after the options. */
  notes?: string[];
}

export interface ParsedArgs {
  positionals: string[];
  /** Value options by long name (flags map to 'true'; repeatable options: the last value). */
  values: Map<string, string>;
  /** Every value of repeatable options, in order. */
  lists: Map<string, string[]>;
  help: boolean;
}

export const HELP_OPTION: OptionSpec = { name: 'help', short: 'h', help: 'Print this help and exit.' };

/** Parse `argv` (the words after the command name) against a command's options. */
export function parseArgs(spec: CommandSpec, argv: readonly string[]): ParsedArgs {
  const options = [...spec.options, HELP_OPTION];
  const byName = new Map(options.map((o) => [o.name, o]));
  const byShort = new Map(options.filter((o) => o.short).map((o) => [o.short!, o]));
  const values = new Map<string, string>();
  const lists = new Map<string, string[]>();
  const positionals: string[] = [];
  let help = false;
  const where = `cpgd ${spec.name}`;
  const see = `(see ${where} --help)`;

  for (let i = 0; i < argv.length; i++) {
    const word = argv[i];
    if (word === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    let opt: OptionSpec | undefined;
    let inline: string | undefined;
    let shown: string;
    if (word.startsWith('--')) {
      const eq = word.indexOf('=');
      const name = eq >= 0 ? word.slice(2, eq) : word.slice(2);
      inline = eq >= 0 ? word.slice(eq + 1) : undefined;
      shown = `--${name}`;
      opt = byName.get(name);
    } else if (word.length > 1 && word.startsWith('-') && !/^-[\d.]/.test(word)) {
      shown = word;
      opt = word.length === 2 ? byShort.get(word[1]) : undefined;
    } else {
      positionals.push(word);
      continue;
    }
    if (!opt) throw new UsageError(`${shown}: unknown option for ${where} ${see}`);
    const long = `--${opt.name}`;
    if (opt.name === 'help') {
      help = true;
      continue;
    }
    let value: string;
    if (opt.value === undefined) {
      if (inline !== undefined) throw new UsageError(`${long}: takes no value (got ${JSON.stringify(inline)})`);
      value = 'true';
    } else if (inline !== undefined) {
      value = inline;
    } else {
      const nextWord = argv[i + 1];
      if (nextWord === undefined || nextWord.startsWith('--')) throw new UsageError(`${long}: missing value ${opt.value}`);
      value = nextWord;
      i++;
    }
    if (opt.value !== undefined && value === '') throw new UsageError(`${long}: empty value (expected ${opt.value})`);
    if (opt.repeatable) lists.set(opt.name, [...(lists.get(opt.name) ?? []), value]);
    else if (values.has(opt.name)) throw new UsageError(`${long}: given more than once`);
    values.set(opt.name, value);
  }
  if (help) return { positionals, values, lists, help };

  const want = spec.positionals.length;
  if (positionals.length < want) {
    throw new UsageError(`missing ${spec.positionals[positionals.length].name} argument ${see}`);
  }
  if (positionals.length > want) {
    throw new UsageError(`unexpected argument ${JSON.stringify(positionals[want])} ${see}`);
  }
  for (const o of spec.options) {
    if (o.required && !values.has(o.name)) throw new UsageError(`--${o.name}: missing, ${o.value ? `--${o.name} ${o.value} ` : ''}is required ${see}`);
  }
  return { positionals, values, lists, help };
}

/** Word-wrap `text` to `width` columns, every line prefixed by `indent`. */
function wrap(text: string, width: number, indent: string): string[] {
  const lines: string[] = [];
  let line = '';
  for (const w of text.split(/\s+/).filter(Boolean)) {
    if (line && indent.length + line.length + 1 + w.length > width) {
      lines.push(indent + line);
      line = w;
    } else {
      line = line ? `${line} ${w}` : w;
    }
  }
  if (line) lines.push(indent + line);
  return lines;
}

/** The `--help` text of a command. */
export function formatHelp(spec: CommandSpec, width = 100): string {
  const out: string[] = [`Usage: ${spec.usage}`, '', ...wrap(spec.summary, width, ''), ''];
  if (spec.positionals.length) {
    out.push('Arguments:');
    for (const p of spec.positionals) {
      out.push(`  ${p.name}`);
      out.push(...wrap(p.help, width, '      '));
    }
    out.push('');
  }
  out.push('Options:');
  for (const o of [...spec.options, HELP_OPTION]) {
    const names = `${o.short ? `-${o.short}, ` : ''}--${o.name}${o.value ? ` ${o.value}` : ''}`;
    out.push(`  ${names}`);
    const tail = o.required ? ' Required.' : o.default !== undefined ? ` Default: ${o.default}.` : '';
    out.push(...wrap(o.help + tail, width, '      '));
  }
  // A note with line breaks is preformatted; others are wrapped.
  for (const n of spec.notes ?? []) out.push('', ...(n.includes('\n') ? n.split('\n') : wrap(n, width, '')));
  return out.join('\n') + '\n';
}
