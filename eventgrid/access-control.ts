// Event Grid's access control for MQTT: client groups (a query over client attributes and the
// authentication name), topic spaces (topic templates: MQTT filters with variables) and permission
// bindings (a group gets Publisher or Subscriber on a topic space). Parsing, validation and matching
// live here; the reference broker's checks (reference/policy/access.ts) use them.
// Sources: https://learn.microsoft.com/azure/event-grid/mqtt-access-control,
// …/mqtt-client-groups, …/mqtt-topic-spaces, …/mqtt-permission-bindings.

/** The built-in group that holds every client of a namespace; it cannot be declared or changed. */
export const ALL_CLIENTS_GROUP = '$all';
export const PERMISSIONS = ['Publisher', 'Subscriber'] as const;
export type Permission = (typeof PERMISSIONS)[number];

/** Client group, topic space and permission binding names: 3 to 50 letters, digits and hyphens. */
export const RESOURCE_NAME = /^[A-Za-z0-9-]{3,50}$/;
/** At most 10 topic templates per topic space, 10 client groups per namespace (the docs' limits). */
export const MAX_TOPIC_TEMPLATES = 10;
export const MAX_CLIENT_GROUPS = 10;

/** What a query or a template variable reads of a client. */
export interface ClientFacts {
  authenticationName: string;
  attributes: Record<string, unknown>;
}

// ---------------------------------------------------------------------------------------------
// Client group queries: the documented subset. Comparisons `=`, `!=`/`<>`, `<`, `>`, `<=`, `>=`
// (ordering on integers), `IN [..]`; `and` binds tighter than `or`; parentheses. Operands are
// `authenticationName` or `attributes.<key>`; values are quoted strings or integers.

type Operand = { kind: 'authenticationName' } | { kind: 'attribute'; key: string };
type Value = string | number;
export type Query =
  | { kind: 'or' | 'and'; left: Query; right: Query }
  | { kind: 'compare'; operand: Operand; operator: '=' | '!=' | '<' | '>' | '<=' | '>='; value: Value }
  | { kind: 'in'; operand: Operand; values: Value[] };

export class QueryError extends Error {}

const TOKEN = /\s*(?:(\(|\)|\[|\]|,|<=|>=|<>|!=|=|<|>)|('(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")|(-?\d+)(?![\w.])|([A-Za-z_$][\w.$-]*))/y;

type Token = { type: 'punct' | 'string' | 'number' | 'word'; text: string; value?: Value };

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  TOKEN.lastIndex = 0;
  while (TOKEN.lastIndex < text.length) {
    if (/^\s*$/.test(text.slice(TOKEN.lastIndex))) break;
    const at = TOKEN.lastIndex;
    const match = TOKEN.exec(text);
    if (!match) throw new QueryError(`unexpected "${text.slice(at).trim().slice(0, 12)}" at character ${at + 1}`);
    const [, punct, quoted, number, word] = match;
    if (punct) tokens.push({ type: 'punct', text: punct });
    else if (quoted) tokens.push({ type: 'string', text: quoted, value: quoted.slice(1, -1).replace(/\\(.)/g, '$1') });
    else if (number) tokens.push({ type: 'number', text: number, value: Number(number) });
    else tokens.push({ type: 'word', text: word! });
  }
  return tokens;
}

/** Parses a client group query; a query outside the documented language throws QueryError saying where. */
export function parseQuery(text: string): Query {
  const tokens = tokenize(text);
  let position = 0;
  const peek = () => tokens[position];
  const describe = (token: Token | undefined) => (token ? `"${token.text}"` : 'the end of the query');
  const keyword = (token: Token | undefined, word: string) => token?.type === 'word' && token.text.toLowerCase() === word;
  const expect = (text: string) => {
    const token = tokens[position];
    if (token?.type !== 'punct' || token.text !== text) throw new QueryError(`expected "${text}", found ${describe(token)}`);
    position += 1;
  };

  const value = (): Value => {
    const token = tokens[position];
    if (token?.type !== 'string' && token?.type !== 'number') throw new QueryError(`expected a quoted string or an integer, found ${describe(token)}`);
    position += 1;
    return token.value!;
  };

  const operand = (): Operand => {
    const token = tokens[position];
    if (token?.type === 'word' && token.text === 'authenticationName') {
      position += 1;
      return { kind: 'authenticationName' };
    }
    if (token?.type === 'word' && /^attributes\.[^.\s]+$/.test(token.text)) {
      position += 1;
      return { kind: 'attribute', key: token.text.slice('attributes.'.length) };
    }
    throw new QueryError(`expected authenticationName or attributes.<name>, found ${describe(token)}`);
  };

  const comparison = (): Query => {
    if (peek()?.type === 'punct' && peek()!.text === '(') {
      position += 1;
      const inner = or();
      expect(')');
      return inner;
    }
    const left = operand();
    const token = tokens[position];
    if (keyword(token, 'in')) {
      position += 1;
      expect('[');
      const values = [value()];
      while (peek()?.type === 'punct' && peek()!.text === ',') {
        position += 1;
        values.push(value());
      }
      expect(']');
      return { kind: 'in', operand: left, values };
    }
    if (token?.type !== 'punct' || !['=', '!=', '<>', '<', '>', '<=', '>='].includes(token.text)) {
      throw new QueryError(`expected a comparison (=, !=, <>, <, >, <=, >=, IN) after the operand, found ${describe(token)}`);
    }
    position += 1;
    const operator = (token.text === '<>' ? '!=' : token.text) as '=' | '!=' | '<' | '>' | '<=' | '>=';
    const right = value();
    if (['<', '>', '<=', '>='].includes(operator) && typeof right !== 'number') {
      throw new QueryError(`"${token.text}" compares integers only, not ${JSON.stringify(right)}`);
    }
    return { kind: 'compare', operand: left, operator, value: right };
  };

  const and = (): Query => {
    let left = comparison();
    while (keyword(peek(), 'and')) {
      position += 1;
      left = { kind: 'and', left, right: comparison() };
    }
    return left;
  };

  function or(): Query {
    let left = and();
    while (keyword(peek(), 'or')) {
      position += 1;
      left = { kind: 'or', left, right: and() };
    }
    return left;
  }

  if (!tokens.length) throw new QueryError('the query is empty');
  const query = or();
  if (position < tokens.length) throw new QueryError(`unexpected ${describe(tokens[position])} after a complete query`);
  return query;
}

/** An attribute that is an array matches when any of its elements does. */
function operandValues(operand: Operand, client: ClientFacts): unknown[] {
  if (operand.kind === 'authenticationName') return [client.authenticationName];
  const value = client.attributes[operand.key];
  return value === undefined ? [] : Array.isArray(value) ? value : [value];
}

function equal(actual: unknown, expected: Value, caseless: boolean): boolean {
  if (typeof expected === 'number') return typeof actual === 'number' ? actual === expected : actual === String(expected);
  if (typeof actual !== 'string') return false;
  return caseless ? actual.toLowerCase() === expected.toLowerCase() : actual === expected;
}

export function evaluateQuery(query: Query, client: ClientFacts): boolean {
  switch (query.kind) {
    case 'or':
      return evaluateQuery(query.left, client) || evaluateQuery(query.right, client);
    case 'and':
      return evaluateQuery(query.left, client) && evaluateQuery(query.right, client);
    case 'in': {
      // Authentication names compare without regard to case (A4); attribute values exactly.
      const caseless = query.operand.kind === 'authenticationName';
      return operandValues(query.operand, client).some((actual) => query.values.some((value) => equal(actual, value, caseless)));
    }
    case 'compare': {
      const caseless = query.operand.kind === 'authenticationName';
      const values = operandValues(query.operand, client);
      const { operator, value } = query;
      if (operator === '=') return values.some((actual) => equal(actual, value, caseless));
      if (operator === '!=') return !values.some((actual) => equal(actual, value, caseless));
      return values.some((actual) => {
        if (typeof actual !== 'number' || typeof value !== 'number') return false;
        return operator === '<' ? actual < value : operator === '>' ? actual > value : operator === '<=' ? actual <= value : actual >= value;
      });
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Topic templates: MQTT filters (`+`, `#` as whole levels, `#` last) whose levels may hold the
// variables ${client.authenticationName} and ${client.attributes.<name>}; a variable stands for at
// most one level (or part of one). Topics starting with `$` are reserved.

const VARIABLE = /\$\{([^}]*)\}/g;
const KNOWN_VARIABLE = /^client\.(authenticationName|attributes\.[^.\s/+#{}]+)$/;

/** Why a topic template is not valid, or undefined if it is. */
export function templateProblem(template: string): string | undefined {
  if (template.length === 0) return 'a topic template cannot be empty';
  if (template.startsWith('$')) return `"${template}" starts with "$": topics starting with "$" are reserved`;
  const levels = template.split('/');
  for (const [index, level] of levels.entries()) {
    for (const [, name] of level.matchAll(VARIABLE)) {
      if (!KNOWN_VARIABLE.test(name!)) {
        return `"\${${name}}" in "${template}" is not a variable: use \${client.authenticationName} or \${client.attributes.<name>}`;
      }
    }
    const literal = level.replace(VARIABLE, '');
    if (literal.includes('${') || literal.includes('}')) return `"${template}" has an unclosed variable`;
    if (level.includes('#') && (level !== '#' || index !== levels.length - 1)) return `"${template}": "#" must be a whole level, and the last`;
    if (level.includes('+') && level !== '+') return `"${template}": "+" must be a whole level`;
  }
  return undefined;
}

/** A template with the client's values in place of its variables; undefined when one has no usable value. */
export function instantiateTemplate(template: string, client: ClientFacts): string | undefined {
  let missing = false;
  const filled = template.replace(VARIABLE, (_all, name: string) => {
    const value = name === 'client.authenticationName' ? client.authenticationName : client.attributes[name.slice('client.attributes.'.length)];
    const text = typeof value === 'string' || typeof value === 'number' ? String(value) : undefined;
    // A value that spans levels or holds wildcards would widen the template: it matches nothing.
    if (text === undefined || text === '' || /[/+#]/.test(text)) missing = true;
    return text ?? '';
  });
  return missing ? undefined : filled;
}

/** A template with every variable read as a whole-level `+`: the shape of topics it may grant someone. */
export function templateShape(template: string): string {
  return template
    .split('/')
    .map((level) => (/\$\{[^}]*\}/.test(level) ? '+' : level))
    .join('/');
}

/**
 * Whether every topic that `filter` matches is matched by `grant` (both MQTT filters). A PUBLISH topic
 * has no wildcards, so this is also "the topic matches the grant".
 */
export function filterCovers(grant: string, filter: string): boolean {
  const granted = grant.split('/');
  const asked = filter.split('/');
  for (let index = 0; index < asked.length; index += 1) {
    const g = granted[index];
    const a = asked[index]!;
    if (g === undefined) return false;
    if (g === '#') return true;
    if (a === '#') return false;
    if (g === '+') continue;
    if (a === '+' || a !== g) return false;
  }
  // The filter ended: the grant must end too, or go on with a last "#" (which matches the parent level).
  return granted.length === asked.length || (granted.length === asked.length + 1 && granted[asked.length] === '#');
}

/** Whether a PUBLISH topic name or SUBSCRIBE topic filter is reserved (starts with `$`). */
export function isReservedTopic(topic: string): boolean {
  return topic.startsWith('$');
}
