/**
 * One modal for every action: a small form (or a plain confirmation) that resolves with the
 * values entered, or undefined when cancelled. Live updates never re-render it, so typing is
 * never interrupted.
 */
import { h, mount } from './dom.js';

/**
 * ask({ title, text, fields: [{ name, label, value, type }], confirm, danger })
 * resolves with { name: value } or undefined.
 */
export function ask({ title, text, fields = [], confirm = 'OK', danger = false }) {
  const dialog = document.getElementById('dialog');
  return new Promise((resolve) => {
    const inputs = fields.map((f) =>
      h('input', { name: f.name, value: f.value ?? '', type: f.type ?? 'text', required: f.required ?? true, placeholder: f.placeholder }),
    );
    const form = h(
      'form',
      { method: 'dialog' },
      h('h3', {}, title),
      text ? h('p', {}, text) : null,
      fields.map((f, i) => h('label', {}, f.label, inputs[i])),
      h(
        'div',
        { class: 'buttons' },
        h('button', { type: 'button', onclick: () => dialog.close('cancel') }, 'Cancel'),
        h('button', { type: 'submit', value: 'ok', class: danger ? 'danger solid' : 'primary', 'data-confirm': '' }, confirm),
      ),
    );
    mount(dialog, form);
    dialog.onclose = () => {
      if (dialog.returnValue !== 'ok') return resolve(undefined);
      resolve(Object.fromEntries(fields.map((f, i) => [f.name, inputs[i].value])));
    };
    dialog.returnValue = '';
    dialog.showModal();
    (inputs[0] ?? form.querySelector('[data-confirm]')).focus();
  });
}
