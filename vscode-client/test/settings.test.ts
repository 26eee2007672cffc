import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { serverCommand, serverSettings, statusText } from '../src/settings';

test('executable launches `<exe> lsp`', () => {
  assert.deepEqual(serverCommand({ executable: '/opt/venv/bin/mathassist', pythonPath: '' }), { command: '/opt/venv/bin/mathassist', args: ['lsp'] });
});

test('a Python interpreter wins and runs the module', () => {
  assert.deepEqual(serverCommand({ executable: 'mathassist', pythonPath: ' /usr/bin/python3 ' }), { command: '/usr/bin/python3', args: ['-m', 'mathassist', 'lsp'] });
});

test('an empty executable falls back to mathassist', () => {
  assert.deepEqual(serverCommand({ executable: '  ', pythonPath: '' }), { command: 'mathassist', args: ['lsp'] });
});

test('dotted settings become the nested object the server reads, values untouched', () => {
  const flat: Record<string, unknown> = {
    'serverUrl': '', 'inline.temperature': 0.2, 'inline.topK': 5, 'proofSteps.candidates': 3, 'languages.markdown': false,
    'inline.topP': 7, // invalid on purpose: the server validates and names it
  };
  assert.deepEqual(serverSettings((k) => flat[k]), {
    serverUrl: '', inline: { temperature: 0.2, topK: 5, topP: 7 }, proofSteps: { candidates: 3 }, languages: { markdown: false },
  });
});

test('status texts', () => {
  assert.match(statusText('ready'), /check/);
  assert.match(statusText('loading'), /loading/);
  assert.match(statusText('error'), /error/);
});
