// The server extension's endpoints (jupyter_ext/handlers.py), on the Jupyter server's own origin
// and with its authentication: the browser never sees the model process or its token.
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

export interface ICell {
  cell_type: string;
  source: string;
}

export interface IMark {
  from: number;
  to: number;
  line: number;
  message: string;
  step: string;
  counterexample: Record<string, unknown> | null;
}

export interface IStatus {
  enabled: boolean;
  state: string;
  message: string;
  notice: { id: number; message: string } | null;
}

const settings = ServerConnection.makeSettings();

/** Send a request to /mathassist/<endpoint>; throws with the server's message on an error status. */
export async function request<T>(endpoint: string, method: string, body?: unknown, signal?: AbortSignal): Promise<T> {
  const url = URLExt.join(settings.baseUrl, 'mathassist', endpoint);
  const init: RequestInit = { method, signal };
  if (body !== undefined) {
    init.body = JSON.stringify(body);
  }
  const response = await ServerConnection.makeRequest(url, init, settings);
  const data = await response.json().catch(() => ({}));
  if (!response.ok) {
    throw new Error(data?.error?.message ?? data?.message ?? `mathassist: ${endpoint} answered ${response.status}`);
  }
  return data as T;
}
