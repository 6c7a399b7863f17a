// The portal's small enhancements; every page works without them. Copy buttons copy the text of the
// element they name; forms marked `confirm` ask before they are sent.
document.addEventListener('click', (e) => {
  const button = e.target.closest('button.copy');
  if (!button) return;
  const el = document.getElementById(button.dataset.copy);
  if (!el) return;
  const text = 'value' in el && el.tagName === 'INPUT' ? el.value : el.textContent;
  const status = document.getElementById('copyStatus');
  navigator.clipboard.writeText(text.trim()).then(() => {
    if (status) status.textContent = 'Copied to clipboard';
    setTimeout(() => { if (status) status.textContent = ''; }, 3000);
  }, () => {});
});
document.addEventListener('submit', (e) => {
  const form = e.target;
  if (form.classList.contains('confirm') && !window.confirm(form.dataset.confirm || 'Are you sure?')) {
    e.preventDefault();
  }
});
// Copy buttons do nothing without a script: they are hidden until it runs.
document.documentElement.classList.add('js');
