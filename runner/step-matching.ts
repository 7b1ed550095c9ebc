// Where a step's arguments are in its text, found by Node's own RegExp match indices. The
// cucumber-expressions that cucumber 12.9 ships finds them with a polyfill (regexp-match-indices) that
// parses every step pattern with regexp-tree and rebuilds a measuring RegExp at every match: about
// 0.2 s of the suite's start-up, all before the first scenario. Node has had the `d` flag since 16.
//
// This replaces TreeRegexp.match, an internal of @cucumber/cucumber-expressions (the version cucumber
// ~12.9.0 pins); runner/step-matching.test.ts fails if it changes shape or if the two disagree.
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

interface GroupBuilder {
  build(match: RegExpExecArray, nextGroupIndex: () => number): unknown;
}
interface TreeRegexp {
  regexp: RegExp;
  groupBuilder: GroupBuilder;
  match(text: string): unknown;
}
type TreeRegexpClass = new (regexp: RegExp | string) => TreeRegexp;

/** The TreeRegexp class of the cucumber-expressions that cucumber itself loads. */
export function cucumberTreeRegexp(): TreeRegexpClass {
  const fromCucumber = createRequire(createRequire(import.meta.url).resolve('@cucumber/cucumber'));
  const expressions = fromCucumber.resolve('@cucumber/cucumber-expressions');
  return (fromCucumber(join(dirname(expressions), 'TreeRegexp.js')) as { default: TreeRegexpClass }).default;
}

type Match = (this: TreeRegexp, text: string) => unknown;

/** Each pattern's twin with the `d` flag. */
const withIndices = new WeakMap<RegExp, RegExp>();

/** Where the polyfilled match is kept once replaced: the same, however often this module is loaded. */
const POLYFILLED = Symbol.for('mqtt-multisession-conformance/polyfilled-tree-regexp-match');

/** Makes cucumber match steps with native indices; returns the polyfilled match, for comparison. */
export function useNativeMatchIndices(): Match {
  const prototype = cucumberTreeRegexp().prototype as TreeRegexp & { [POLYFILLED]?: Match };
  const installed = prototype[POLYFILLED];
  if (installed) return installed;
  const polyfilled = prototype.match as Match;
  prototype[POLYFILLED] = polyfilled;
  prototype.match = function matchWithNativeIndices(this: TreeRegexp, text: string): unknown {
    // A global or sticky pattern matches from its own lastIndex: the polyfill keeps that right.
    if (this.regexp.global || this.regexp.sticky) return polyfilled.call(this, text);
    let regexp = withIndices.get(this.regexp);
    if (!regexp) {
      regexp = new RegExp(this.regexp.source, `${this.regexp.flags}d`);
      withIndices.set(this.regexp, regexp);
    }
    const match = regexp.exec(text);
    if (!match) return null;
    let groupIndex = 0;
    return this.groupBuilder.build(match, () => groupIndex++);
  };
  return polyfilled;
}
