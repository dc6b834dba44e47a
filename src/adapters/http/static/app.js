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
