// mathassist in JupyterLab: ghost text in Markdown and %%solve cells, wrong steps marked, the
// model's state in the status bar, settings in the settings editor. No product logic lives here:
// the server extension (jupyter_ext) decides everything and this plugin shows it.
import { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { Notification } from '@jupyterlab/apputils';
import { IEditorExtensionRegistry } from '@jupyterlab/codemirror';
import { ICompletionProviderManager } from '@jupyterlab/completer';
import { INotebookTracker } from '@jupyterlab/notebook';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { IStatusBar } from '@jupyterlab/statusbar';

import { request } from './api';
import { registerMarks, watchNotebook } from './marks';
import { MathassistInlineProvider } from './provider';
import { StatusItem } from './status';

const PLUGIN_ID = 'mathassist-jupyterlab:plugin';

/** Forward the settings as they are; the server validates them and names any invalid one. */
async function forward(settings: ISettingRegistry.ISettings): Promise<void> {
  try {
    const { errors } = await request<{ errors: string[] }>('settings', 'PUT', settings.composite);
    for (const message of errors) {
      Notification.warning(`mathassist: ${message}`, { autoClose: 10000 });
    }
  } catch (err) {
    console.warn('mathassist: the server extension did not take the settings', err);
  }
}

const plugin: JupyterFrontEndPlugin<void> = {
  id: PLUGIN_ID,
  description: 'Ghost text and checked steps in notebook cells, from the shared mathassist model process.',
  autoStart: true,
  requires: [ICompletionProviderManager, INotebookTracker, IEditorExtensionRegistry],
  optional: [ISettingRegistry, IStatusBar],
  activate: (
    app: JupyterFrontEnd,
    completions: ICompletionProviderManager,
    notebooks: INotebookTracker,
    editorExtensions: IEditorExtensionRegistry,
    settingRegistry: ISettingRegistry | null,
    statusBar: IStatusBar | null
  ) => {
    completions.registerInlineProvider(new MathassistInlineProvider());
    registerMarks(editorExtensions);
    notebooks.widgetAdded.connect((_, panel) => watchNotebook(panel));
    if (statusBar) {
      const item = new StatusItem();
      statusBar.registerStatusItem('mathassist:status', { item, align: 'left', rank: 100 });
      item.start();
    }
    if (settingRegistry) {
      void settingRegistry.load(PLUGIN_ID).then((settings) => {
        void forward(settings);
        settings.changed.connect(() => void forward(settings));
      });
    } else {
      void request('settings', 'PUT', {}); // defaults; also starts the model process
    }
  }
};

export default plugin;
