import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { Environment, findServer, serverCommand, serverSettings, statusText } from '../src/settings';

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

const machine = (files: string[], extra: Partial<Environment> = {}): Environment => ({
  workspaceFolders: ['/work/paper'], pathDirs: ['/usr/bin', '/opt/tools/bin'], windows: false,
  exists: (p) => files.includes(p), ...extra,
});
const defaults = { executable: 'mathassist', pythonPath: '' };

test('the workspace .venv is found first, then venv', () => {
  assert.deepEqual(findServer(defaults, machine(['/work/paper/.venv/bin/mathassist', '/opt/tools/bin/mathassist'])),
    { command: '/work/paper/.venv/bin/mathassist', args: ['lsp'] });
  assert.deepEqual(findServer(defaults, machine(['/work/paper/venv/bin/mathassist'])),
    { command: '/work/paper/venv/bin/mathassist', args: ['lsp'] });
});

test('then the interpreter selected in the Python extension, if mathassist is installed beside it, then PATH', () => {
  const selected = { selectedPython: '/home/u/envs/m/bin/python' };
  assert.deepEqual(findServer(defaults, machine(['/home/u/envs/m/bin/mathassist', '/opt/tools/bin/mathassist'], selected)),
    { command: '/home/u/envs/m/bin/python', args: ['-m', 'mathassist', 'lsp'] });
  assert.deepEqual(findServer(defaults, machine(['/opt/tools/bin/mathassist'], selected)),
    { command: '/opt/tools/bin/mathassist', args: ['lsp'] });
});

test('settings the user set win; nothing found is undefined', () => {
  assert.deepEqual(findServer({ executable: '/x/mathassist', pythonPath: '' }, machine(['/work/paper/.venv/bin/mathassist'])),
    { command: '/x/mathassist', args: ['lsp'] });
  assert.equal(findServer(defaults, machine([])), undefined);
});

test('Windows layout', () => {
  assert.deepEqual(findServer(defaults, machine(['C:\\p\\.venv\\Scripts\\mathassist.exe'], { windows: true, workspaceFolders: ['C:\\p'] })),
    { command: 'C:\\p\\.venv\\Scripts\\mathassist.exe', args: ['lsp'] });
});
