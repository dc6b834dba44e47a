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
