/**
 * Shell words: enough of POSIX sh to find the simple commands of a package script and
 * where each word is. Anything that could run a command more than once, later, or out of
 * sight (subshells, backquotes, control keywords, background jobs, here-docs) makes the
 * script "unclear": it is then not taken apart at all. A `$(…)` command substitution runs
 * once, before its command, and its text is in the script: it is kept in its word (not
 * literal) with its text in `substitutions`, for the caller to take apart in turn.
 */
export interface ShellWord {
  /** The word after quote removal; meaningful only when `literal`. */
  value: string;
  start: number;
  end: number;
  /** No expansion and no glob: the shell passes `value` as it is. */
  literal: boolean;
  /** The text inside each `$(…)` of the word, in order (absent when there is none). */
  substitutions?: string[];
}

export interface ShellSegment {
  words: ShellWord[];
  start: number;
  end: number;
}

export interface ParsedScript {
  segments: ShellSegment[];
  /** Operator after each segment but the last: `&&`, `||`, `;`, `|`, or a newline. */
  operators: string[];
  /** Why the script is not taken apart (null when it is). */
  unclear: string | null;
}

const SHELL_KEYWORDS = new Set(['if', 'then', 'else', 'elif', 'fi', 'for', 'while', 'until', 'do', 'done', 'case', 'esac', 'function', 'select', '!', '[[', ']]', '{', '}', 'time', 'coproc']);

export function parseShellScript(text: string): ParsedScript {
  const segments: ShellSegment[] = [];
  const operators: string[] = [];
  let words: ShellWord[] = [];
  let segStart = -1;
  let segEnd = -1;
  let pendingOp: string | null = null;
  const unclear = (why: string): ParsedScript => ({ segments: [], operators: [], unclear: why });
  const touch = (start: number, end: number) => {
    if (segStart < 0) segStart = start;
    segEnd = end;
  };
  // Ends the current simple command at an operator; a newline after nothing is just a blank line.
  const endSegment = (op: string): string | null => {
    if (segStart < 0) {
      // A blank line, or a line break after `a &&` (the operator waits for its right-hand side).
      if (op === '\n') return null;
      return `an operator (${pendingOp ?? op}) without a command`;
    }
    if (words.length === 0) return 'a redirection without a command';
    if (pendingOp !== null) operators.push(pendingOp);
    segments.push({ words, start: segStart, end: segEnd });
    words = [];
    segStart = -1;
    segEnd = -1;
    pendingOp = op;
    return null;
  };

  let i = 0;
  const n = text.length;
  // Reads one word from i; returns null with `problem` set on syntax selfscope does not take apart.
  let problem: string | null = null;
  const readWord = (): ShellWord | null => {
    const start = i;
    let value = '';
    let literal = true;
    const substitutions: string[] = [];
    // At `$(`: the substitution's text up to its matching `)`, with i moved past it; null on what is not taken apart.
    const readSubstitution = (): string | null => {
      if (text[i + 2] === '(') {
        problem = 'arithmetic expansion $((…))';
        return null;
      }
      const end = matchingParen(text, i + 2);
      if (end < 0) {
        problem = 'an unterminated $(';
        return null;
      }
      const inner = text.slice(i + 2, end);
      substitutions.push(inner);
      value += text.slice(i, end + 1);
      literal = false;
      i = end + 1;
      return inner;
    };
    while (i < n) {
      const c = text[i]!;
      if (c === ' ' || c === '\t' || c === '\n' || c === ';' || c === '&' || c === '|' || c === '(' || c === ')' || c === '<' || c === '>') break;
      if (c === '\\') {
        if (text[i + 1] === '\n') {
          i += 2;
          continue;
        }
        if (i + 1 >= n) {
          problem = 'a trailing backslash';
          return null;
        }
        value += text[i + 1];
        i += 2;
        continue;
      }
      if (c === "'") {
        const close = text.indexOf("'", i + 1);
        if (close < 0) {
          problem = 'an unterminated quote';
          return null;
        }
        value += text.slice(i + 1, close);
        i = close + 1;
        continue;
      }
      if (c === '"') {
        i++;
        let closed = false;
        while (i < n) {
          const d = text[i]!;
          if (d === '"') {
            closed = true;
            i++;
            break;
          }
          if (d === '\\' && i + 1 < n && '$`"\\\n'.includes(text[i + 1]!)) {
            if (text[i + 1] !== '\n') value += text[i + 1];
            i += 2;
            continue;
          }
          if (d === '`') {
            problem = 'command substitution with backquotes';
            return null;
          }
          if (d === '$' && text[i + 1] === '(') {
            if (readSubstitution() === null) return null;
            continue;
          }
          if (d === '$') literal = false;
          value += d;
          i++;
        }
        if (!closed) {
          problem = 'an unterminated quote';
          return null;
        }
        continue;
      }
      if (c === '`') {
        problem = 'command substitution with backquotes';
        return null;
      }
      if (c === '$' && text[i + 1] === '(') {
        if (readSubstitution() === null) return null;
        continue;
      }
      if (c === '$' || c === '*' || c === '?' || c === '[' || (c === '~' && i === start)) literal = false;
      if (c === '$' && text[i + 1] === '{') {
        const close = text.indexOf('}', i);
        if (close < 0) {
          problem = 'an unterminated ${';
          return null;
        }
        value += text.slice(i, close + 1);
        i = close + 1;
        continue;
      }
      value += c;
      i++;
    }
    return { value, start, end: i, literal, ...(substitutions.length ? { substitutions } : {}) };
  };

  while (i < n) {
    const c = text[i]!;
    if (c === ' ' || c === '\t') {
      i++;
      continue;
    }
    if (c === '#') {
      while (i < n && text[i] !== '\n') i++;
      continue;
    }
    if (c === '\n' || c === ';' || c === '|' || c === '&') {
      const two = text.slice(i, i + 2);
      let op: string;
      if (two === '&&' || two === '||') op = two;
      else if (two === ';;' || two === '|&' || two === '&>') return unclear(`the operator ${two}`);
      else if (c === '&') return unclear('a background job (&)');
      else op = c;
      const why = endSegment(op);
      if (why) return unclear(why);
      i += op.length;
      continue;
    }
    if (c === '(' || c === ')') return unclear('a subshell or group ( )');
    if (c === '<' || c === '>') {
      const three = text.slice(i, i + 3);
      if (three.startsWith('<<')) return unclear('a here-document');
      const op = ['>>', '>&', '>|', '<&', '<>'].includes(three.slice(0, 2)) ? three.slice(0, 2) : c;
      const opStart = i;
      i += op.length;
      while (i < n && (text[i] === ' ' || text[i] === '\t')) i++;
      const target = i < n && !'\n;&|()<>'.includes(text[i]!) ? readWord() : null;
      if (!target) return unclear(problem ?? 'a redirection without a target');
      touch(opStart, target.end);
      continue;
    }
    const word = readWord();
    if (!word) return unclear(problem ?? 'shell syntax');
    // `2>&1`, `2>file`: digits right before a redirection are its file descriptor, not a word.
    if (/^\d+$/.test(word.value) && word.literal && (text[i] === '<' || text[i] === '>')) {
      touch(word.start, word.end);
      continue;
    }
    if (words.length === 0 && word.literal && SHELL_KEYWORDS.has(word.value) && !/['"\\]/.test(text.slice(word.start, word.end))) {
      return unclear(`the shell keyword ${word.value}`);
    }
    words.push(word);
    touch(word.start, word.end);
  }
  if (segStart < 0) {
    if (pendingOp !== null && pendingOp !== '\n' && pendingOp !== ';') return unclear(`an operator (${pendingOp}) without a command after it`);
  } else {
    const why = endSegment('\n');
    if (why) return unclear(why);
  }
  return { segments, operators, unclear: null };
}

/**
 * Index of the `)` that closes a `$(` whose text starts at `from`, or -1. Quotes, escapes
 * and nested parentheses are skipped; a `case` pattern's lone `)` would end it early, which
 * only makes the inner text fail to parse.
 */
function matchingParen(text: string, from: number): number {
  let depth = 1;
  for (let i = from; i < text.length; i++) {
    const c = text[i]!;
    if (c === '\\') {
      i++;
    } else if (c === "'") {
      const close = text.indexOf("'", i + 1);
      if (close < 0) return -1;
      i = close;
    } else if (c === '"') {
      for (i++; i < text.length && text[i] !== '"'; i++) if (text[i] === '\\') i++;
      if (i >= text.length) return -1;
    } else if (c === '(') {
      depth++;
    } else if (c === ')') {
      depth--;
      if (depth === 0) return i;
    }
  }
  return -1;
}

/** One shell word that the shell reads back as `value`. */
export function shellQuote(value: string): string {
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(value)) return value;
  return `'${value.replace(/'/g, `'\\''`)}'`;
}
