// Steps matched with native RegExp indices find the same arguments, at the same places, as
// cucumber-expressions' polyfill does: cucumber expressions and regular expressions of every shape the
// step definitions use, and some they do not.
import { describe, expect, it } from 'vitest';
import { CucumberExpression, ParameterTypeRegistry, RegularExpression } from '@cucumber/cucumber-expressions';
import { cucumberTreeRegexp, useNativeMatchIndices } from './step-matching.ts';

const registry = new ParameterTypeRegistry();
const cases: Array<[RegExp, string[]]> = [
  [new CucumberExpression('identity {string} connects with session {string} over MQTT {word}', registry).regexp, ['identity "alpha" connects with session "a b" over MQTT 5', 'identity "" connects with session "x" over MQTT 3.1.1', 'no match']],
  [new CucumberExpression('{int} QoS 1 message(s) of {int} KiB queued', registry).regexp, ['9 QoS 1 messages of 100 KiB queued', '1 QoS 1 message of 1 KiB queued', '-3 QoS 1 messages of 0 KiB queued']],
  [new CucumberExpression('a Keep Alive of {float} second(s)/minute(s)', registry).regexp, ['a Keep Alive of 1.5 seconds', 'a Keep Alive of 2 minute']],
  [new RegularExpression(/^the (\d+)(?:st|nd|rd|th) subscription (is|is not) (refused|granted)(?: with ((0x)?[0-9a-f]+))?$/, registry).regexp, ['the 51st subscription is refused with 0x97', 'the 2nd subscription is not granted', 'the 3rd subscription is refused']],
  [/(?<name>[a-z]+)=(?<value>(?:[^,]|\\,)*)(?<=\w)/, ['ipv4=127.0.0.1', 'a=b\\,c', '=']],
];

describe('useNativeMatchIndices', () => {
  it('finds the groups the polyfill finds, values and offsets alike', () => {
    const TreeRegexp = cucumberTreeRegexp();
    const polyfilled = useNativeMatchIndices();
    let matched = 0;
    for (const [regexp, texts] of cases) {
      const tree = new TreeRegexp(regexp);
      for (const text of texts) {
        const found = tree.match(text);
        expect(found, `${regexp} on "${text}"`).toEqual(polyfilled.call(tree, text));
        if (found) matched += 1;
      }
    }
    // Most texts match: the comparison is of groups, not of two nulls.
    expect(matched).toBeGreaterThanOrEqual(11);
    expect(TreeRegexp.prototype.match).not.toBe(polyfilled);
  });

  it('keeps the polyfill for a global pattern, whose matches start at its lastIndex', () => {
    const TreeRegexp = cucumberTreeRegexp();
    const polyfilled = useNativeMatchIndices();
    const tree = new TreeRegexp(/(\d+)/g);
    const reference = new TreeRegexp(/(\d+)/g);
    for (const text of ['a 1 b 22', 'a 1 b 22', 'a 1 b 22']) expect(tree.match(text)).toEqual(polyfilled.call(reference, text));
  });

  it('is what the suite runs with: installing it twice changes nothing', () => {
    expect(useNativeMatchIndices()).toBe(useNativeMatchIndices());
  });
});
