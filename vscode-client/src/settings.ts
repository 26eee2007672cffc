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

/** What the machine offers to find `mathassist` in, gathered by the extension (kept out for testing). */
export interface Environment {
  workspaceFolders: string[];
  /** the interpreter selected in the Python extension, when it is installed */
  selectedPython?: string;
  /** the PATH entries */
  pathDirs: string[];
  windows: boolean;
  exists: (path: string) => boolean;
}

/**
 * Where to launch the language server from, as the Python tool extensions look for their tools:
 * the settings if the user set them, then the workspace's `.venv` or `venv`, then the interpreter
 * selected in the Python extension, then PATH. Undefined when nothing is found.
 */
export function findServer(launch: LaunchSettings, env: Environment): ServerCommand | undefined {
  const exe = launch.executable.trim();
  if (launch.pythonPath.trim() || (exe && exe !== 'mathassist')) {
    return serverCommand(launch);
  }
  const sep = env.windows ? '\\' : '/';
  const bin = env.windows ? 'Scripts' : 'bin';
  const name = env.windows ? 'mathassist.exe' : 'mathassist';
  for (const folder of env.workspaceFolders) {
    for (const venv of ['.venv', 'venv']) {
      const candidate = [folder, venv, bin, name].join(sep);
      if (env.exists(candidate)) {
        return { command: candidate, args: ['lsp'] };
      }
    }
  }
  if (env.selectedPython) {
    const dir = env.selectedPython.slice(0, Math.max(env.selectedPython.lastIndexOf('/'), env.selectedPython.lastIndexOf('\\')));
    if (env.exists([dir, name].join(sep))) {
      return { command: env.selectedPython, args: ['-m', 'mathassist', 'lsp'] };
    }
  }
  for (const dir of env.pathDirs) {
    if (dir && env.exists([dir, name].join(sep))) {
      return { command: [dir, name].join(sep), args: ['lsp'] };
    }
  }
  return undefined;
}

/** The keys the server reads, nested as in `initializationOptions` / `workspace/configuration`. */
export const SERVER_KEYS = [
  'serverUrl',
  'inline.temperature', 'inline.topK', 'inline.topP', 'inline.maxNewTokens', 'inline.debounceMs', 'inline.verify',
  'checks.showVerified',
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
