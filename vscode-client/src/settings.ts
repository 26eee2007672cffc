/**
 * Pure mapping from VS Code settings to what the language server takes. No product logic:
 * values are forwarded as they are and the server validates them (and names a bad one).
 */

export interface LaunchSettings {
  executable: string;
  pythonPath: string;
}

export interface ServerCommand {
  command: string;
  args: string[];
}

/** `python -m mathassist lsp` when a Python interpreter is set, else `<executable> lsp`. */
export function serverCommand(launch: LaunchSettings): ServerCommand {
  const python = launch.pythonPath.trim();
  if (python) {
    return { command: python, args: ['-m', 'mathassist', 'lsp'] };
  }
  return { command: launch.executable.trim() || 'mathassist', args: ['lsp'] };
}

/** The keys the server reads, nested as in `initializationOptions` / `workspace/configuration`. */
export const SERVER_KEYS = [
  'serverUrl',
  'inline.temperature', 'inline.topK', 'inline.topP', 'inline.maxNewTokens', 'inline.debounceMs',
  'proofSteps.temperature', 'proofSteps.topK', 'proofSteps.topP', 'proofSteps.maxNewTokens', 'proofSteps.candidates',
  'languages.latex', 'languages.markdown', 'languages.plaintext',
] as const;

/** Settings whose change needs a new server process rather than a configuration change. */
export const LAUNCH_KEYS = ['mathassist.executable', 'mathassist.pythonPath'] as const;

/** Build the nested settings object from a getter of dotted keys (VS Code's `config.get`). */
export function serverSettings(get: (key: string) => unknown): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of SERVER_KEYS) {
    const value = get(key);
    if (value === undefined) {
      continue;
    }
    const parts = key.split('.');
    let node = out;
    for (const part of parts.slice(0, -1)) {
      node[part] = (node[part] as Record<string, unknown> | undefined) ?? {};
      node = node[part] as Record<string, unknown>;
    }
    node[parts[parts.length - 1]] = value;
  }
  return out;
}

/** Status-bar text for a `mathassist/status` notification. */
export function statusText(state: string): string {
  switch (state) {
    case 'ready': return '$(check) mathassist';
    case 'error': return '$(error) mathassist';
    case 'loading': return '$(sync~spin) mathassist: loading';
    case 'starting': return '$(sync~spin) mathassist: starting';
    default: return '$(circle-outline) mathassist';
  }
}
