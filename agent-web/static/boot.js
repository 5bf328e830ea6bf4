// Loads the console's wasm bundle (a separate file: the console's CSP
// allows no inline script).
import init from './kefu_console.js';
init().catch(function (e) {
  document.body.textContent = 'The console failed to start: ' + e;
});
