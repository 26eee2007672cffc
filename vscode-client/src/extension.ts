/**
 * The mathassist VS Code extension: starts `mathassist lsp`, forwards settings, shows the model's
 * state in the status bar. Every suggestion comes from the language server.
 */
import * as vscode from 'vscode';
import { ExecuteCommandRequest, LanguageClient, LanguageClientOptions, ServerOptions, State } from 'vscode-languageclient/node';
import { LAUNCH_KEYS, serverCommand, serverSettings, statusText } from './settings';

let client: LanguageClient | undefined;

function config(): vscode.WorkspaceConfiguration {
  return vscode.workspace.getConfiguration('mathassist');
}

function createClient(output: vscode.LogOutputChannel, status: vscode.StatusBarItem): LanguageClient {
  const cfg = config();
  const launch = serverCommand({ executable: cfg.get<string>('executable', 'mathassist'), pythonPath: cfg.get<string>('pythonPath', '') });
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

  const start = async (): Promise<void> => {
    client = createClient(output, status);
    context.subscriptions.push(client.onNotification('mathassist/status', (p: { state: string; message: string }) => {
      status.text = statusText(p.state);
      status.tooltip = `mathassist: ${p.state}${p.message ? ` (${p.message})` : ''}`;
    }));
    await client.start();
  };
  const restart = async (): Promise<void> => {
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
