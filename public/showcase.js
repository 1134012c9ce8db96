// The landing page's model (<spaceport-showcase>): the poster shows at once; once the page has
// loaded and the browser is idle, the viewer starts in the frame over it, and is shown when it
// has drawn the model (its container says data-state="ready"; on "error" the poster stays).
// A custom element rather than app code: it runs wherever the element appears, however the page
// was reached, and costs the public wasm bundle (every visitor's first load) nothing.
class SpaceportShowcase extends HTMLElement {
  connectedCallback() {
    const frame = this.querySelector('iframe');
    if (!frame || frame.src) return;
    const start = () => {
      frame.src = frame.dataset.src;
      frame.addEventListener('load', () => {
        const poll = setInterval(() => {
          if (!this.isConnected) return clearInterval(poll);
          const v = frame.contentDocument && frame.contentDocument.getElementById('viewer');
          const state = v && v.dataset.state;
          if (state === 'ready') this.classList.add('live');
          if (state === 'ready' || state === 'error') clearInterval(poll);
        }, 250);
      }, { once: true });
    };
    const idle = () => ('requestIdleCallback' in window ? requestIdleCallback(start, { timeout: 2000 }) : setTimeout(start, 0));
    if (document.readyState === 'complete') idle();
    else window.addEventListener('load', idle, { once: true });
  }
}
customElements.define('spaceport-showcase', SpaceportShowcase);
