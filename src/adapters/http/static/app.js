// dialin pages: a little progressive enhancement. Everything works without this script.
'use strict';

// Forms marked data-confirm ask before they change something.
document.addEventListener('submit', (event) => {
  const form = event.target;
  if (form instanceof HTMLFormElement && form.dataset.confirm && !window.confirm(form.dataset.confirm)) event.preventDefault();
});

// Move focus to the first alert (an error or a new PIN) so keyboard and screen-reader users land on it.
window.addEventListener('DOMContentLoaded', () => {
  const alert = document.querySelector('.notice[role="alert"]');
  if (alert) {
    alert.setAttribute('tabindex', '-1');
    alert.focus();
  }
});

// Template editor: re-render the preview (through the API, with this session's form token) while typing.
window.addEventListener('DOMContentLoaded', () => {
  const form = document.querySelector('form[data-preview]');
  if (!form) return;
  const status = document.getElementById('preview-status');
  const subject = document.getElementById('preview-subject');
  const frame = document.getElementById('preview-html');
  const text = document.getElementById('preview-text');
  let timer = 0;
  let seq = 0;
  const refresh = async () => {
    const mine = ++seq;
    const data = new FormData(form);
    const body = {
      Kind: data.get('kind'),
      Language: data.get('language'),
      Identity: data.get('user') || null,
      Draft: { subject: data.get('subject'), html: data.get('html'), text: data.get('text') },
    };
    try {
      const res = await fetch(form.dataset.preview, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-csrf-token': data.get('_csrf') },
        body: JSON.stringify(body),
      });
      const json = await res.json();
      if (mine !== seq) return;
      if (!res.ok) {
        status.textContent = `${json.error.code}: ${json.error.message}`;
        status.classList.add('field-error');
        return;
      }
      status.textContent = '';
      status.classList.remove('field-error');
      subject.textContent = json.subject;
      frame.srcdoc = json.html || '';
      text.textContent = json.text;
    } catch (e) {
      if (mine === seq) status.textContent = String(e);
    }
  };
  form.addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(refresh, 300);
  });
});

// Copy buttons (the invitation block of the settings page): shown only where the Clipboard API is.
// The text goes to the clipboard as plain text, with the HTML beside it where the browser allows
// (pasted into a mail, the numbers stay one-tap links); the status line says it worked.
window.addEventListener('DOMContentLoaded', () => {
  for (const button of document.querySelectorAll('button[data-copy]')) {
    const text = document.getElementById(button.dataset.copy);
    const rich = document.getElementById(button.dataset.copyHtml || '');
    const status = document.getElementById(button.dataset.status || '');
    if (!text || !navigator.clipboard) continue;
    button.hidden = false;
    button.addEventListener('click', async () => {
      const plain = text.textContent;
      try {
        if (rich && window.ClipboardItem && navigator.clipboard.write) {
          const item = new ClipboardItem({ 'text/plain': new Blob([plain], { type: 'text/plain' }), 'text/html': new Blob([rich.innerHTML], { type: 'text/html' }) });
          await navigator.clipboard.write([item]);
        } else {
          await navigator.clipboard.writeText(plain);
        }
        if (status) status.textContent = button.dataset.done || '';
      } catch {
        if (status) status.textContent = button.dataset.failed || '';
      }
    });
  }
});

// Users list: a "select the whole page" box (hidden without this script; each row has its own box).
window.addEventListener('DOMContentLoaded', () => {
  const all = document.querySelector('input[data-select-all]');
  if (!all) return;
  const boxes = () => Array.from(document.querySelectorAll(`input[type="checkbox"][name="${all.dataset.selectAll}"]`));
  all.hidden = false;
  all.addEventListener('change', () => {
    for (const b of boxes()) b.checked = all.checked;
  });
});
