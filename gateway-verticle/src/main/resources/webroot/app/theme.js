// Runs before the page paints, so a chosen theme never flashes the other one first.
(function () {
  var theme = null;
  try { theme = localStorage.getItem('chat.v1.theme'); } catch (e) { /* storage may be off */ }
  if (theme === 'light' || theme === 'dark') {
    document.documentElement.setAttribute('data-theme', theme);
  }
})();
