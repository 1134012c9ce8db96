// Starts the 3D viewer on a viewer page: <div id="viewer" data-url="…" data-up="…">.
// `?renderer=webgl2` forces the WebGL2 fallback; `?sort=gpu` or `?sort=cpu` picks where the depth
// sort runs (by default the GPU on hardware WebGPU).
const el = document.getElementById('viewer');
const params = new URLSearchParams(location.search);
try {
  const { default: init, mount } = await import('/viewer/viewer.js');
  await init();
  window.spaceportViewer = await mount(el, el.dataset.url, el.dataset.up || '-y', params.get('renderer') || '',
    params.get('sort') || '');
} catch (e) {
  if (el.dataset.state !== 'error') {
    el.dataset.state = 'error';
    const box = document.createElement('div');
    box.className = 'spv-message';
    box.setAttribute('role', 'alert');
    box.style.display = 'block';
    box.textContent = 'The 3D viewer could not start: ' + (e && e.message ? e.message : e) + '. Reload the page to try again.';
    el.appendChild(box);
  }
}
