// A stand-in for Telegram's telegram-web-app.js, served by the browser tests in its place (nothing
// is downloaded at test time). Like the real script it reads the launch parameters Telegram puts
// in the URL's fragment, exposes window.Telegram.WebApp and sets the theme's CSS variables.
(function () {
  var params = new URLSearchParams(location.hash.slice(1));
  var initData = params.get("tgWebAppData") || "";
  var theme = { bg_color: "#ffffff", text_color: "#1b1b1f", hint_color: "#80868b", link_color: "#1f74d8",
                button_color: "#1f74d8", button_text_color: "#ffffff", secondary_bg_color: "#eff1f5" };
  var root = document.documentElement;
  Object.keys(theme).forEach(function (key) {
    root.style.setProperty("--tg-theme-" + key.replace(/_/g, "-"), theme[key]);
  });
  var unsafe = {};
  new URLSearchParams(initData).forEach(function (value, key) {
    try { unsafe[key] = JSON.parse(value); } catch (e) { unsafe[key] = value; }
  });
  window.Telegram = {
    WebApp: {
      initData: initData,
      initDataUnsafe: unsafe,
      version: "8.0",
      platform: "tdesktop",
      colorScheme: "light",
      themeParams: theme,
      ready: function () { window.__telegramReady = true; },
      expand: function () {},
      onEvent: function () {},
      HapticFeedback: { selectionChanged: function () {}, notificationOccurred: function () {}, impactOccurred: function () {} },
    },
  };
})();
