/**
 * The mathassist VS Code extension: starts `mathassist lsp`, forwards settings, shows the model's
 * state in the status bar. Every suggestion comes from the language server.
 */
import { existsSync } from 'node:fs';
import { delimiter } from 'node:path';
import * as vscode from 'vscode';
import { ExecuteCommandRequest, LanguageClient, LanguageClientOptions, ServerOptions, State } from 'vscode-languageclient/node';
import { findServer, LAUNCH_KEYS, ServerCommand, serverSettings, statusText } from './settings';

let client: LanguageClient | undefined;

function config(): vscode.WorkspaceConfiguration {
  return vscode.workspace.getConfiguration('mathassist');
}

/** The interpreter selected in the Python extension, if it is installed and has one. */
async function selectedPython(): Promise<string | undefined> {
  const python = vscode.extensions.getExtension('ms-python.python');
  if (!python) {
    return undefined;
  }
  try {
    const api = python.isActive ? python.exports : await python.activate();
    return api?.environments?.getActiveEnvironmentPath?.()?.path as string | undefined;
  } catch {
    return undefined;
  }
}

async function locateServer(): Promise<ServerCommand | undefined> {
  const cfg = config();
  return findServer({ executable: cfg.get<string>('executable', 'mathassist'), pythonPath: cfg.get<string>('pythonPath', '') }, {
    workspaceFolders: (vscode.workspace.workspaceFolders ?? []).map((f) => f.uri.fsPath),
    selectedPython: await selectedPython(),
    pathDirs: (process.env.PATH ?? '').split(delimiter),
    windows: process.platform === 'win32',
    exists: existsSync,
  });
}

async function reportNotFound(status: vscode.StatusBarItem, retry: () => Promise<void>): Promise<void> {
  status.text = statusText('error');
  status.tooltip = 'mathassist: the `mathassist` command was not found';
  const select = 'Select Python Interpreter';
  const settings = 'Open Settings';
  const actions = vscode.extensions.getExtension('ms-python.python') ? [select, settings] : [settings];
  const choice = await vscode.window.showErrorMessage(
    'mathassist: no `mathassist` command was found in the workspace\'s .venv or venv, the selected Python interpreter, or PATH. '
    + 'Install it there (pip install -e . in the mathassist repository), select an interpreter that has it, '
    + 'or set mathassist.executable.', ...actions);
  if (choice === select) {
    await vscode.commands.executeCommand('python.setInterpreter');
    await retry();
  } else if (choice === settings) {
    await vscode.commands.executeCommand('workbench.action.openSettings', 'mathassist.executable');
  }
}

function createClient(launch: ServerCommand, output: vscode.LogOutputChannel, status: vscode.StatusBarItem): LanguageClient {
  const cfg = config();
  output.info(`launching ${launch.command} ${launch.args.join(' ')}`);
  const serverOptions: ServerOptions = { command: launch.command, args: launch.args };
  const languages = ['latex', 'tex', 'markdown', 'plaintext'];
  const clientOptions: LanguageClientOptions = {
    // by language only: remote hosts (code-server, SSH, WSL) and untitled files use other schemes than file
    documentSelector: languages.map((language) => ({ language })),
    outputChannel: output,
    initializationOptions: serverSettings((key) => cfg.get(key)),
    synchronize: { configurationSection: 'mathassist' },
  };
  const lc = new LanguageClient('mathassist', 'mathassist', serverOptions, clientOptions);
  lc.onDidChangeState((e) => {
    if (e.newState === State.Stopped) {
      status.text = statusText('error');
      status.tooltip = `mathassist: the language server stopped; see the output channel. Command: ${launch.command} ${launch.args.join(' ')}`;
    }
  });
  return lc;
}

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  const output = vscode.window.createOutputChannel('mathassist', { log: true });
  const status = vscode.window.createStatusBarItem(vscode.StatusBarAlignment.Right, 100);
  status.command = 'mathassist.showStatus';
  status.text = statusText('starting');
  status.show();
  context.subscriptions.push(output, status);

  // eslint-disable-next-line prefer-const
  let restart: () => Promise<void>;
  const start = async (): Promise<void> => {
    const launch = await locateServer();
    if (!launch) {
      void reportNotFound(status, restart);
      return;
    }
    client = createClient(launch, output, status);
    context.subscriptions.push(client.onNotification('mathassist/status', (p: { state: string; message: string }) => {
      status.text = statusText(p.state);
      status.tooltip = `mathassist: ${p.state}${p.message ? ` (${p.message})` : ''}`;
    }));
    await client.start();
  };
  restart = async (): Promise<void> => {
    const old = client;
    client = undefined;
    await old?.stop();
    status.text = statusText('starting');
    await start();
  };

  context.subscriptions.push(
    vscode.commands.registerCommand('mathassist.restartServer', restart),
    vscode.commands.registerCommand('mathassist.showStatus', async () => {
      const result = await client?.sendRequest(ExecuteCommandRequest.type, { command: 'mathassist.status', arguments: [] });
      output.info(JSON.stringify(result, null, 2));
      output.show(true);
    }),
    vscode.commands.registerCommand('mathassist.suggestProofStep', async () => {
      const editor = vscode.window.activeTextEditor;
      if (!editor || !client) {
        return;
      }
      const position = editor.selection.active;
      await client.sendRequest(ExecuteCommandRequest.type, {
        command: 'mathassist.suggestProofSteps',
        arguments: [editor.document.uri.toString(), { line: position.line, character: position.character }],
      });
    }),
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (LAUNCH_KEYS.some((key) => e.affectsConfiguration(key))) {
        void restart();
      }
    }),
  );
  await start();
}

export function deactivate(): Promise<void> | undefined {
  return client?.stop();
}
