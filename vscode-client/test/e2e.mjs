// End to end in real VS Code: code-server in headless Chromium (playwright-core), with the packaged
// .vsix installed and `mathassist lsp` launched by the extension against the embedded model.
//
// Environment: CODE_SERVER (its bin/code-server), VSIX, MATHASSIST (the executable), ARTIFACTS
// (folder for screenshots), CHROMIUM (default /usr/bin/chromium). Exits non-zero on failure.
// As a newcomer has it: mathassist lives in the workspace's .venv, not on PATH, and no mathassist
// setting is set; the extension must find it there.
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const env = (name) => {
  if (!process.env[name]) throw new Error(`${name} must be set`);
  return process.env[name];
};
const CODE_SERVER = env('CODE_SERVER');
const VSIX = env('VSIX');
const MATHASSIST = env('MATHASSIST');
const ARTIFACTS = env('ARTIFACTS');
mkdirSync(ARTIFACTS, { recursive: true });

const root = mkdtempSync(join(tmpdir(), 'mathassist-vscode-'));
const userData = join(root, 'user');
const extensions = join(root, 'extensions');
const workspace = join(root, 'workspace');
mkdirSync(join(userData, 'User'), { recursive: true });
mkdirSync(join(workspace, '.venv', 'bin'), { recursive: true });
symlinkSync(MATHASSIST, join(workspace, '.venv', 'bin', 'mathassist'));
writeFileSync(join(workspace, 'expand.tex'),
  'We expand the product.\n\\begin{align*}\n(x + 3)(x + 5) &= x^2 + 5x + 3x + 15 \\\\\n&=\n\\end{align*}\n');
writeFileSync(join(workspace, 'linear.tex'), '\\begin{align*}\n2x + 3 &= 7 \\\\\n2x &=\n\\end{align*}\n');
writeFileSync(join(workspace, 'wrong.tex'),
  'We expand the product.\n\\begin{align*}\n(x + 3)(x + 5) &= x^2 + 5x + 3x + 15 \\\\\n&= x^2 + 8x + 16\n\\end{align*}\n');
writeFileSync(join(workspace, 'proof.tex'),
  '\\begin{theorem}\nFor every real $x$, $(x + 4)^2 = x^2 + 8x + 16$.\n\\end{theorem}\n\\begin{proof}\n\n\\end{proof}\n');
writeFileSync(join(userData, 'User', 'settings.json'), JSON.stringify({
  'security.workspace.trust.enabled': false,
  'workbench.startupEditor': 'none',
  'editor.inlineSuggest.enabled': true,
  'mathassist.inline.debounceMs': 50,
  'mathassist.trace.server': 'messages',
}));

const freePort = () => new Promise((resolve) => {
  const srv = createServer();
  srv.listen(0, '127.0.0.1', () => { const { port } = srv.address(); srv.close(() => resolve(port)); });
});

execFileSync(CODE_SERVER, ['--install-extension', VSIX, '--extensions-dir', extensions, '--user-data-dir', userData], { stdio: 'inherit' });
const port = await freePort();
const server = spawn(CODE_SERVER, ['--auth', 'none', '--bind-addr', `127.0.0.1:${port}`, '--user-data-dir', userData,
  '--extensions-dir', extensions, '--disable-telemetry', '--disable-update-check', workspace], { stdio: ['ignore', 'pipe', 'pipe'] });
server.stderr.on('data', (d) => process.stderr.write(`[code-server] ${d}`));

let browser;
let failed = false;
try {
  for (let i = 0; i < 100; i++) {
    try { const r = await fetch(`http://127.0.0.1:${port}/healthz`); if (r.ok) break; } catch { /* not yet */ }
    await new Promise((r) => setTimeout(r, 300));
  }
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  await page.goto(`http://127.0.0.1:${port}/?folder=${encodeURIComponent(workspace)}`);
  await page.waitForSelector('.monaco-workbench', { timeout: 120_000 });
  await page.waitForTimeout(3000);

  const open = async (name, line) => {
    await page.keyboard.press('Control+P');
    await page.waitForSelector('.quick-input-widget', { state: 'visible' });
    await page.keyboard.type(name);
    await page.locator('.quick-input-list .monaco-list-row', { hasText: name }).first().waitFor({ timeout: 30_000 });
    await page.waitForTimeout(300);
    await page.keyboard.press('Enter');
    await page.locator('.tabs-container .tab', { hasText: name }).first().waitFor({ timeout: 30_000 });
    await page.waitForTimeout(500);
    await page.keyboard.press('Control+G');
    await page.locator('.quick-input-widget').waitFor({ state: 'visible' });
    await page.keyboard.type(String(line));
    await page.locator('.quick-input-list .monaco-list-row', { hasText: `line ${line}` }).first().waitFor({ timeout: 10_000 });
    await page.keyboard.press('Enter');
    await page.locator('.quick-input-widget').waitFor({ state: 'hidden' });
    await page.keyboard.press('End');
  };

  // Type the space after `&=`; until the model process has started (it is spawned on first use),
  // there is no suggestion yet, so take the space back and type it again, as a user would.
  // Then accept the ghost text with Tab and return the document's lines.
  const acceptGhostText = async (name, line, expected, row, shot) => {  // expected: the right suggestions
    await open(name, line);
    let ghost = '';
    for (let attempt = 0; attempt < 15 && !ghost.trim(); attempt++) {
      if (attempt > 0) await page.keyboard.press('Backspace');
      await page.keyboard.type(' ');
      try {
        await page.waitForSelector('[class*="ghost-text"]', { timeout: 4_000 });
        ghost = (await page.locator('[class*="ghost-text"]').allTextContents()).join('');
      } catch { /* not yet */ }
    }
    if (shot) await page.screenshot({ path: join(ARTIFACTS, shot) });
    console.log(`${name} ghost text: ${JSON.stringify(ghost)}`);
    if (!expected.includes(ghost.replace(/\s/g, ''))) throw new Error(`unexpected ghost text ${JSON.stringify(ghost)} in ${name}`);
    await page.keyboard.press('Tab');
    await page.waitForTimeout(500);
    const lines = (await page.locator('.monaco-editor .view-lines .view-line').allTextContents()).map((l) => l.replace(/\u00a0/g, ' '));
    console.log(`${name} after Tab: ${JSON.stringify(lines)}`);
    if (!lines.some((l) => l.replace(/\s/g, '') === row + ghost.replace(/\s/g, ''))) throw new Error(`Tab did not insert the suggestion in ${name}`);
  };

  // 1. ghost text in an unfinished align* derivation, accepted with Tab; the README's example too
  await acceptGhostText('expand.tex', 4, ['x^2+8x+15'], '&=', 'vscode-ghost-text.png');
  await acceptGhostText('linear.tex', 3, ['4', '7-3'], '2x&=');

  // 2. "Suggest next proof step" in a proof offers candidates
  await open('proof.tex', 5);
  await page.keyboard.press('F1');
  await page.keyboard.type('mathassist: Suggest next proof step');
  await page.waitForTimeout(800);
  await page.keyboard.press('Enter');
  const toast = page.locator('.notification-toast', { hasText: 'next proof step' });
  await toast.waitFor({ timeout: 60_000 });
  const buttons = await toast.locator('.monaco-button').allTextContents();
  await page.screenshot({ path: join(ARTIFACTS, 'vscode-proof-steps.png') });
  console.log(`proof-step candidates: ${JSON.stringify(buttons)}`);
  if (buttons.filter((b) => b.trim()).length < 2) throw new Error('fewer than two proof-step candidates were offered');
  // 3. a wrong step gets its squiggle (the checker's diagnostic, pulled by the client)
  await open('wrong.tex', 4);
  await page.waitForSelector('.squiggly-warning', { timeout: 60_000 });
  await page.screenshot({ path: join(ARTIFACTS, 'vscode-wrong-step.png') });
  console.log('wrong step squiggle shown');
  console.log('vscode e2e: 4 passed, 0 failed');
} catch (err) {
  failed = true;
  console.error(err);
  try { const pages = browser ? browser.contexts().flatMap((c) => c.pages()) : []; if (pages[0]) await pages[0].screenshot({ path: join(ARTIFACTS, 'vscode-failure.png') }); } catch { /* best effort */ }
} finally {
  await browser?.close();
  server.kill('SIGTERM');
}
process.exit(failed ? 1 : 0);
