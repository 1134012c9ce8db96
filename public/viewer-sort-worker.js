// The viewer's depth sort, off the main thread: the viewer's own wasm, started again in this
// module worker (viewer/src/worker.rs). It answers the page's sort requests until the page goes.
import init, { sort_worker } from '/viewer/viewer.js';

await init();
sort_worker();
