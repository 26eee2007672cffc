// The status bar item: the model process's state as the server extension reports it (starting,
// loading, ready, error), and once per failure the server's message on what to do.
import { Notification } from '@jupyterlab/apputils';
import { Widget } from '@lumino/widgets';

import { IStatus, request } from './api';

const LABELS: Record<string, string> = {
  idle: 'mathassist',
  starting: 'mathassist: starting…',
  loading: 'mathassist: loading the model…',
  ready: 'mathassist ✓',
  error: 'mathassist: unreachable'
};

export class StatusItem extends Widget {
  private lastNotice = 0;
  private timer: number | undefined;

  constructor() {
    super();
    this.addClass('jp-mathassist-status');
    this.node.textContent = LABELS.idle;
  }

  /** Poll the server's status, faster while the model process is starting or loading. */
  start(): void {
    const poll = async (): Promise<void> => {
      let state = 'error';
      try {
        const status = await request<IStatus>('status', 'GET');
        state = status.state;
        this.node.textContent = status.enabled ? (LABELS[status.state] ?? status.state) : 'mathassist: off';
        this.node.title = status.message || 'mathassist';
        this.node.dataset.state = status.state;
        if (status.notice && status.notice.id > this.lastNotice) {
          this.lastNotice = status.notice.id;
          Notification.error(status.notice.message, { autoClose: false });
        }
      } catch {
        this.node.textContent = 'mathassist: server extension not reachable';
      }
      const busy = state === 'starting' || state === 'loading';
      this.timer = window.setTimeout(() => void poll(), busy ? 1000 : 3000);
    };
    void poll();
  }

  dispose(): void {
    window.clearTimeout(this.timer);
    super.dispose();
  }
}
