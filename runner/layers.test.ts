// Guard: the folders are layers, and an import runs only downwards (or within its folder), so that
// the layout tells the architecture and no two folders lean on each other. Inside reference/ the same
// holds for its own folders: the policy, the ports it needs, the adapters, then the broker that puts
// them together. And no module imports itself back, through any path (type imports count too).
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { describe, expect, it } from 'vitest';

/** Lowest first: each folder may import from itself and the folders before it. */
export const LAYERS = ['common', 'rules', 'eventgrid', 'certs', 'report', 'mqtt-client', 'testkit', 'reference', 'interop', 'stress', 'provision', 'steps', 'runner', 'bench'];

/** reference/'s own layers, lowest first; '.' is the files directly in reference/ (the broker, its command). */
const REFERENCE_LAYERS = ['policy', 'ports', 'adapters', '.'];

function sources(folder: string): string[] {
  return readdirSync(folder, { recursive: true, encoding: 'utf8' }).filter((name) => name.endsWith('.ts')).map((name) => join(folder, name));
}

/** Every relative import of every TypeScript file of the layers, as [importer, imported] paths. */
const imports: [string, string][] = [...LAYERS, '.'].flatMap((folder) =>
  (folder === '.' ? readdirSync('.').filter((name) => name.endsWith('.ts')) : sources(folder)).flatMap((file) =>
    [...readFileSync(file, 'utf8').matchAll(/(?:from|import)\s*\(?\s*'(\.[^']+)'/g)].map(([, spec]) => [file, normalize(join(dirname(file), spec!))] as [string, string]),
  ),
);

/** A file's layer: its folder's place in LAYERS; files at the top (index.ts, vitest's set-up) come above them all. */
const layer = (file: string) => (file.includes('/') ? LAYERS.indexOf(file.split('/')[0]!) : LAYERS.length);

/** The reference/ layer of a file under reference/. */
const referenceLayer = (file: string) => REFERENCE_LAYERS.indexOf(file.split('/').length > 2 ? file.split('/')[1]! : '.');

describe('the folder layers', () => {
  it('has every top-level folder with TypeScript in it as a layer', () => {
    const folders = readdirSync('.', { withFileTypes: true })
      .filter((entry) => entry.isDirectory() && !entry.name.startsWith('.') && entry.name !== 'node_modules' && entry.name !== 'dist')
      .filter((entry) => sources(entry.name).length > 0)
      .map((entry) => entry.name);
    expect(folders.filter((folder) => !LAYERS.includes(folder))).toEqual([]);
  });

  it('imports only from the same layer or one below', () => {
    const upward = imports.filter(([file, target]) => layer(target) > layer(file));
    expect(upward.map(([file, target]) => `${file} imports ${target}`)).toEqual([]);
  });

  it("has reference/'s folders as layers too: policy, ports, adapters, then the broker", () => {
    const inside = imports.filter(([file, target]) => file.startsWith('reference/') && target.startsWith('reference/'));
    expect(new Set(inside.map(([file]) => referenceLayer(file))).has(-1)).toBe(false);
    const upward = inside.filter(([file, target]) => referenceLayer(target) > referenceLayer(file));
    expect(upward.map(([file, target]) => `${file} imports ${target}`)).toEqual([]);
  });

  it('has no import circle', () => {
    const edges = new Map<string, string[]>();
    for (const [file, target] of imports) edges.set(file, [...(edges.get(file) ?? []), target]);
    // Depth-first search: an edge back to a module still on the path closes a circle.
    const state = new Map<string, 'open' | 'done'>();
    const circles: string[] = [];
    const visit = (file: string, path: string[]) => {
      state.set(file, 'open');
      for (const target of edges.get(file) ?? []) {
        if (state.get(target) === 'open') circles.push([...path.slice(path.indexOf(target)), file, target].join(' -> '));
        else if (!state.has(target)) visit(target, [...path, file]);
      }
      state.set(file, 'done');
    };
    for (const file of edges.keys()) if (!state.has(file)) visit(file, []);
    expect(circles).toEqual([]);
  });
});
