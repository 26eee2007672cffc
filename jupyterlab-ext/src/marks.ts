// Wrong steps in Markdown cells: the server's checker decides, this file only draws. In the cell's
// editor a wrong step is underlined, with the message and its counterexample on hover; a rendered
// cell gets a mark in its margin with the same text as its title.
import { Cell } from '@jupyterlab/cells';
import { CodeMirrorEditor, EditorExtensionRegistry, IEditorExtensionRegistry } from '@jupyterlab/codemirror';
import { NotebookPanel } from '@jupyterlab/notebook';
import { StateEffect, StateField, RangeSetBuilder } from '@codemirror/state';
import { Decoration, DecorationSet, EditorView, hoverTooltip } from '@codemirror/view';

import { IMark, request } from './api';

const PAUSE_MS = 500; // as the language server waits after typing before checking
const WRONG_CELL = 'jp-mathassist-wrong-cell';

const setMarks = StateEffect.define<IMark[]>();

interface IMarked {
  decorations: DecorationSet;
  marks: IMark[];
}

const marksField = StateField.define<IMarked>({
  create: () => ({ decorations: Decoration.none, marks: [] }),
  update(value, tr) {
    let next: IMarked = { decorations: value.decorations.map(tr.changes), marks: value.marks };
    for (const effect of tr.effects) {
      if (effect.is(setMarks)) {
        const builder = new RangeSetBuilder<Decoration>();
        const length = tr.state.doc.length;
        for (const mark of [...effect.value].sort((a, b) => a.from - b.from)) {
          const from = Math.min(mark.from, length);
          const to = Math.min(Math.max(mark.to, from + 1), length);
          if (to > from) {
            builder.add(from, to, Decoration.mark({ class: 'jp-mathassist-wrong', attributes: { 'data-mathassist-step': mark.step } }));
          }
        }
        next = { decorations: builder.finish(), marks: effect.value };
      }
    }
    return next;
  },
  provide: (field) => EditorView.decorations.from(field, (value) => value.decorations)
});

/** What a hover over a mark shows: the server's message, which names the counterexample ("at x = -2 ..."). */
function describe(mark: IMark): string {
  return `mathassist: ${mark.message}`;
}

const markTooltip = hoverTooltip((view, pos) => {
  const { decorations, marks } = view.state.field(marksField);
  let found: IMark | undefined;
  decorations.between(pos, pos, (from, to, deco) => {
    const step = deco.spec.attributes?.['data-mathassist-step'];
    found = marks.find((m) => m.step === step) ?? found;
    return false;
  });
  if (!found) {
    return null;
  }
  const mark = found;
  return {
    pos,
    create: () => {
      const dom = document.createElement('div');
      dom.className = 'jp-mathassist-tooltip';
      dom.textContent = describe(mark);
      return { dom };
    }
  };
});

/** The editor extension every cell editor gets (inert until marks are set). */
export function registerMarks(registry: IEditorExtensionRegistry): void {
  registry.addExtension({
    name: 'mathassist:marks',
    factory: () => EditorExtensionRegistry.createImmutableExtension([marksField, markTooltip])
  });
}

function show(cell: Cell, marks: IMark[]): void {
  const editor = cell.editor;
  if (editor instanceof CodeMirrorEditor) {
    editor.editor.dispatch({ effects: setMarks.of(marks) });
  }
  cell.node.classList.toggle(WRONG_CELL, marks.length > 0);
  if (marks.length) {
    cell.node.setAttribute('title', marks.map(describe).join('\n'));
  } else {
    cell.node.removeAttribute('title');
  }
}

/** Check the Markdown cells of a notebook after each pause in typing; only changed cells are sent. */
export function watchNotebook(panel: NotebookPanel): void {
  const checked = new WeakMap<Cell, string>();
  let timer: number | undefined;
  const pass = async (): Promise<void> => {
    for (const cell of panel.content.widgets) {
      if (cell.model.type !== 'markdown') {
        continue;
      }
      const source = cell.model.sharedModel.getSource();
      if (checked.get(cell) === source) {
        continue;
      }
      checked.set(cell, source);
      try {
        const { marks } = await request<{ marks: IMark[] }>('check', 'POST', { source });
        await cell.ready;
        if (cell.model.sharedModel.getSource() === source) {
          show(cell, marks);
        }
      } catch (err) {
        checked.delete(cell);
        console.warn('mathassist:', err);
      }
    }
  };
  const schedule = (): void => {
    window.clearTimeout(timer);
    timer = window.setTimeout(() => void pass(), PAUSE_MS);
  };
  void panel.context.ready.then(() => {
    panel.model?.contentChanged.connect(schedule);
    schedule();
  });
  panel.disposed.connect(() => window.clearTimeout(timer));
}
