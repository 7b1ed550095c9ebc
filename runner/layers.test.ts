// Guard: the folders are layers, and an import runs only downwards (or within its folder), so that
// the layout tells the architecture and no two folders lean on each other.
import { readdirSync, readFileSync } from 'node:fs';
import { join, normalize } from 'node:path';
import { describe, expect, it } from 'vitest';

/** Lowest first: each folder may import from itself and the folders before it. */
export const LAYERS = ['common', 'rules', 'eventgrid', 'certs', 'report', 'mqtt-client', 'testkit', 'reference', 'stress', 'provision', 'steps', 'runner', 'bench'];

function sources(folder: string): string[] {
  return readdirSync(folder, { recursive: true, encoding: 'utf8' }).filter((name) => name.endsWith('.ts')).map((name) => join(folder, name));
}

describe('the folder layers', () => {
  it('has every top-level folder with TypeScript in it as a layer', () => {
    const folders = readdirSync('.', { withFileTypes: true })
      .filter((entry) => entry.isDirectory() && !entry.name.startsWith('.') && entry.name !== 'node_modules' && entry.name !== 'dist')
      .filter((entry) => sources(entry.name).length > 0)
      .map((entry) => entry.name);
    expect(folders.filter((folder) => !LAYERS.includes(folder))).toEqual([]);
  });

  it('imports only from the same layer or one below', () => {
    const upward: string[] = [];
    for (const [level, folder] of LAYERS.entries()) {
      for (const file of sources(folder)) {
        for (const [, spec] of readFileSync(file, 'utf8').matchAll(/(?:from|import)\s*\(?\s*'(\.[^']+)'/g)) {
          const target = normalize(join(file, '..', spec!)).split('/')[0]!;
          if (LAYERS.indexOf(target) > level) upward.push(`${file} imports ${spec}`);
        }
      }
    }
    expect(upward).toEqual([]);
  });
});
