// Ghost text in Markdown and %%solve cells: JupyterLab's inline completer asks this provider, which
// forwards the notebook's cells up to the cursor to the server extension. Everything else (which
// cells are the document, context, debounce, typing along, the checker filter) happens there.
import {
  CompletionHandler,
  IInlineCompletionContext,
  IInlineCompletionList,
  IInlineCompletionProvider
} from '@jupyterlab/completer';
import { NotebookPanel } from '@jupyterlab/notebook';
import { InlineCompletionTriggerKind } from '@jupyterlab/completer';

import { ICell, request } from './api';

export class MathassistInlineProvider implements IInlineCompletionProvider {
  readonly identifier = 'mathassist';
  readonly name = 'mathassist';
  // The server debounces (the debounceMs setting), so the completer asks at once; the first
  // request may wait for the model process to start.
  readonly schema = { default: { debouncerDelay: 0, timeout: 60000 } };
  private inFlight: AbortController | null = null;

  async fetch(req: CompletionHandler.IRequest, context: IInlineCompletionContext): Promise<IInlineCompletionList> {
    const panel = context.widget;
    if (!(panel instanceof NotebookPanel)) {
      return { items: [] };
    }
    const notebook = panel.content;
    const index = notebook.activeCellIndex;
    const active = notebook.activeCell;
    // Python code cells are not mathematics; a %%solve cell is (the server reads its problem).
    if (!active || (active.model.type === 'code' && !req.text.startsWith('%%solve'))) {
      return { items: [] };
    }
    const cells: ICell[] = notebook.widgets.slice(0, index).map((cell) => ({
      cell_type: cell.model.type,
      source: cell.model.sharedModel.getSource()
    }));
    cells.push({ cell_type: active.model.type, source: req.text });
    // A newer request supersedes this one: aborting it closes its connection, and the server
    // cancels the generation in the model process.
    this.inFlight?.abort();
    const controller = (this.inFlight = new AbortController());
    try {
      const reply = await request<{ suggestion: string | null }>('suggest', 'POST', {
        notebook: panel.context.path,
        cells,
        offset: req.offset,
        explicit: context.triggerKind === InlineCompletionTriggerKind.Invoke
      }, controller.signal);
      return { items: reply.suggestion ? [{ insertText: reply.suggestion }] : [] };
    } catch (err) {
      if (!controller.signal.aborted) {
        console.warn('mathassist:', err);
      }
      return { items: [] };
    } finally {
      if (this.inFlight === controller) {
        this.inFlight = null;
      }
    }
  }
}
