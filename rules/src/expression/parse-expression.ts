import { DERIVED_FUNCTIONS } from '../derived/functions.js';
import { CLOCK_NAMES, type ClockName } from '../derived/local-time.js';
import type { CompiledExpr, Expr } from './ast.js';

export class ExpressionError extends Error {
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(message);
  }
}

type Token =
  | { t: 'num'; v: number; at: number }
  | { t: 'str'; v: string; at: number }
  | { t: 'id'; v: string; at: number }
  | { t: 'op'; v: string; at: number }
  | { t: 'end'; at: number };

const OPERATORS = ['==', '!=', '<=', '>=', '&&', '||', '<', '>', '=', '!', '+', '-', '*', '/', '%', '(', ')', ',', '.'];
const MAX_LENGTH = 1000;
const MAX_DEPTH = 64;

function tokenize(src: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i] as string;
    if (/\s/.test(c)) {
      i += 1;
      continue;
    }
    const num = /^(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?/.exec(src.slice(i));
    if (num) {
      out.push({ t: 'num', v: Number(num[0]), at: i });
      i += num[0].length;
      continue;
    }
    const id = /^[A-Za-z_][A-Za-z0-9_]*/.exec(src.slice(i));
    if (id) {
      out.push({ t: 'id', v: id[0], at: i });
      i += id[0].length;
      continue;
    }
    if (c === "'" || c === '"') {
      const end = src.indexOf(c, i + 1);
      if (end < 0) throw new ExpressionError('unterminated string', i);
      out.push({ t: 'str', v: src.slice(i + 1, end), at: i });
      i = end + 1;
      continue;
    }
    const op = OPERATORS.find((o) => src.startsWith(o, i));
    if (!op) throw new ExpressionError(`unexpected character "${c}"`, i);
    out.push({ t: 'op', v: op, at: i });
    i += op.length;
  }
  out.push({ t: 'end', at: src.length });
  return out;
}

const WORD_OPS = new Map([
  ['and', '&&'],
  ['AND', '&&'],
  ['or', '||'],
  ['OR', '||'],
  ['not', '!'],
  ['NOT', '!'],
]);
const LITERALS = new Map<string, boolean | number>([
  ['true', true],
  ['false', false],
  ['TRUE', true],
  ['FALSE', false],
  // severities, for `rule.<id>` verdicts: none 0 < blue 1 < yellow 2 < orange 3 < red 4
  ['none', 0],
  ['blue', 1],
  ['yellow', 2],
  ['orange', 3],
  ['red', 4],
]);

/** Prefix of another rule's verdict in expressions: `rule.cooling_flow_drop >= red`. */
export const RULE_REF_PREFIX = 'rule.';

const isClockName = (name: string): name is ClockName => (CLOCK_NAMES as readonly string[]).includes(name);

/**
 * Parses a boolean or arithmetic expression into a tree. Grammar, loosest first:
 * `or` (`or` `OR` `||`) · `and` (`and` `AND` `&&`) · `not` (`not` `NOT` `!`) · comparison (`== = != < <= > >=`)
 * · `+ -` · `* / %` · unary `-` · literals (numbers, 'strings', true/false), names, `attr.name`,
 * `fn(args)` of the derived functions, `known(x)` (whether x has a value: never unknown), parentheses; `local_hour`
 * and `weekday` (the evaluation's local time);
 * `rule.<id>` (the severity another rule of the device shows: 0 none … 4 red) and the severity words
 * `none blue yellow orange red`. No eval, no Function, no member access beyond `attr.` and `rule.`.
 */
export function parseExpression(src: string): Expr {
  if (src.length > MAX_LENGTH) throw new ExpressionError(`expression longer than ${MAX_LENGTH} characters`, 0);
  const tokens = tokenize(src);
  let pos = 0;
  let depth = 0;

  const peek = (): Token => tokens[pos] as Token;
  const opOf = (tok: Token): string | null => (tok.t === 'op' ? tok.v : tok.t === 'id' ? (WORD_OPS.get(tok.v) ?? null) : null);
  const take = (op: string): boolean => {
    if (opOf(peek()) !== op) return false;
    pos += 1;
    return true;
  };
  const expect = (op: string): void => {
    if (!take(op)) throw new ExpressionError(`expected "${op}"`, peek().at);
  };
  const nested = <T>(f: () => T): T => {
    depth += 1;
    if (depth > MAX_DEPTH) throw new ExpressionError('expression nested too deeply', peek().at);
    try {
      return f();
    } finally {
      depth -= 1;
    }
  };

  const orExpr = (): Expr =>
    nested(() => {
      let a = andExpr();
      while (take('||')) a = { k: 'or', a, b: andExpr() };
      return a;
    });
  const andExpr = (): Expr => {
    let a = notExpr();
    while (take('&&')) a = { k: 'and', a, b: notExpr() };
    return a;
  };
  const notExpr = (): Expr => (take('!') ? nested(() => ({ k: 'not', a: notExpr() })) : cmpExpr());
  const cmpExpr = (): Expr => {
    const a = addExpr();
    const op = opOf(peek());
    if (op === '==' || op === '=' || op === '!=' || op === '<' || op === '<=' || op === '>' || op === '>=') {
      pos += 1;
      return { k: 'cmp', op: op === '=' ? '==' : op, a, b: addExpr() };
    }
    return a;
  };
  const addExpr = (): Expr => {
    let a = mulExpr();
    for (;;) {
      const op = opOf(peek());
      if (op !== '+' && op !== '-') return a;
      pos += 1;
      a = { k: 'arith', op, a, b: mulExpr() };
    }
  };
  const mulExpr = (): Expr => {
    let a = unary();
    for (;;) {
      const op = opOf(peek());
      if (op !== '*' && op !== '/' && op !== '%') return a;
      pos += 1;
      a = { k: 'arith', op, a, b: unary() };
    }
  };
  const unary = (): Expr => (take('-') ? nested(() => ({ k: 'neg', a: unary() })) : primary());
  const primary = (): Expr => {
    const tok = peek();
    if (tok.t === 'num') {
      pos += 1;
      return { k: 'lit', v: tok.v };
    }
    if (tok.t === 'str') {
      pos += 1;
      return { k: 'lit', v: tok.v };
    }
    if (take('(')) {
      const inner = orExpr();
      expect(')');
      return inner;
    }
    if (tok.t === 'id' && !WORD_OPS.has(tok.v)) {
      pos += 1;
      const literal = LITERALS.get(tok.v);
      if (literal !== undefined) return { k: 'lit', v: literal };
      if (tok.v === 'attr' || tok.v === 'rule') {
        expect('.');
        const name = peek();
        if (name.t !== 'id')
          throw new ExpressionError(`expected ${tok.v === 'attr' ? 'an attribute' : 'a rule'} name after "${tok.v}."`, name.at);
        pos += 1;
        return tok.v === 'attr' ? { k: 'ref', attr: true, name: name.v } : { k: 'ref', attr: false, name: `${RULE_REF_PREFIX}${name.v}` };
      }
      if (isClockName(tok.v) && opOf(peek()) !== '(') return { k: 'clock', name: tok.v };
      if (tok.v === 'known' && take('(')) {
        const a = orExpr();
        expect(')');
        return { k: 'known', a };
      }
      if (take('(')) {
        const fn = Object.hasOwn(DERIVED_FUNCTIONS, tok.v) ? DERIVED_FUNCTIONS[tok.v] : undefined;
        if (!fn) throw new ExpressionError(`unknown function "${tok.v}" (known: ${Object.keys(DERIVED_FUNCTIONS).join(', ')})`, tok.at);
        const args: Expr[] = [];
        if (!take(')')) {
          do args.push(orExpr());
          while (take(','));
          expect(')');
        }
        if (args.length < fn.arity[0] || args.length > fn.arity[1]) {
          throw new ExpressionError(`${tok.v}() takes ${fn.arity[0]}–${fn.arity[1]} arguments, got ${args.length}`, tok.at);
        }
        return { k: 'call', fn: tok.v, args };
      }
      if (opOf(peek()) === '.') throw new ExpressionError(`only "attr." and "rule." may be followed by "."`, peek().at);
      return { k: 'ref', attr: false, name: tok.v };
    }
    throw new ExpressionError(tok.t === 'end' ? 'unexpected end of expression' : 'unexpected token', tok.at);
  };

  const tree = orExpr();
  if (peek().t !== 'end') throw new ExpressionError('unexpected text after the expression', peek().at);
  return tree;
}

function collect(e: Expr, metrics: Set<string>, attrs: Set<string>): void {
  switch (e.k) {
    case 'lit':
    case 'clock':
      return;
    case 'ref':
      (e.attr ? attrs : metrics).add(e.name);
      return;
    case 'call':
      for (const a of e.args) collect(a, metrics, attrs);
      return;
    case 'neg':
    case 'not':
    case 'known':
      collect(e.a, metrics, attrs);
      return;
    default:
      collect(e.a, metrics, attrs);
      collect(e.b, metrics, attrs);
  }
}

export function compileExpression(src: string): CompiledExpr {
  const ast = parseExpression(src);
  const metrics = new Set<string>();
  const attrs = new Set<string>();
  collect(ast, metrics, attrs);
  return { src, ast, metrics: [...metrics], attrs: [...attrs] };
}
