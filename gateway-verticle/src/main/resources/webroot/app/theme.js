// Runs before the page paints, so the theme never flashes the other one first. The chosen theme
// (light or dark) wins; with none chosen the page follows the system, also when it changes.
(function () {
  var chosen = null;
  try { chosen = localStorage.getItem('chat.v1.theme'); } catch (e) { /* storage may be off */ }
  var system = window.matchMedia('(prefers-color-scheme: dark)');
  function apply() {
    var theme = chosen === 'light' || chosen === 'dark' ? chosen : (system.matches ? 'dark' : 'light');
    document.documentElement.setAttribute('data-theme', theme);
  }
  system.addEventListener('change', apply);
  window.chatTheme = {
    choose: function (theme) {
      chosen = theme;
      apply();
    }
  };
  apply();
})();
