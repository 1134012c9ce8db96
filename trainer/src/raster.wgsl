// The training rasterizer on the GPU: forward compositing and its backward pass, term for term
// the CPU's (`raster.rs`: `fragment`, `rasterize`, `rasterize_backward`). One workgroup is one
// 16×16 tile and one invocation one pixel; the tile lists (ids front to back) come binned and
// sorted from the host, exactly as the CPU bins them.

struct Params {
    width: u32,
    height: u32,
    tiles_x: u32,
    _pad: u32,
    background: vec4<f32>,
}

// One projected Gaussian (64 bytes; `gpu.rs` packs it).
struct Splat {
    xy: vec2<f32>,
    opacity: f32,
    _pad: f32,
    conic: vec4<f32>,  // a, b, c of the inverse 2-D covariance; w unused
    colour: vec4<f32>, // rgb; w unused
    bbox: vec4<u32>,   // pixel bounds [x0, x1) × [y0, y1) as x0, y0, x1, y1
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> splats: array<Splat>;
// offsets[t]..offsets[t + 1] is tile t's slice of `ids`.
@group(0) @binding(2) var<storage, read> offsets: array<u32>;
@group(0) @binding(3) var<storage, read> ids: array<u32>;
// Forward writes rgb + final transmittance; backward reads dL/d(rgb) + final transmittance.
@group(0) @binding(4) var<storage, read_write> pixels: array<vec4<f32>>;
// 1 + the tile-list position of each pixel's last contributing fragment (0: none).
@group(0) @binding(5) var<storage, read_write> last: array<u32>;
// Backward: per tile-list entry, its 9 gradient terms summed over the tile's pixels
// (colour rgb, opacity, conic a b c, mean x y).
@group(0) @binding(6) var<storage, read_write> grads: array<f32>;

const TILE: u32 = 16u;
const TERMS: u32 = 9u;

struct Fragment {
    alpha: f32,
    gauss: f32,
    dx: f32,
    dy: f32,
    hit: bool,
}

fn fragment(s: Splat, px: u32, py: u32) -> Fragment {
    var f = Fragment(0.0, 0.0, 0.0, 0.0, false);
    if px < s.bbox.x || px >= s.bbox.z || py < s.bbox.y || py >= s.bbox.w {
        return f;
    }
    let dx = f32(px) + 0.5 - s.xy.x;
    let dy = f32(py) + 0.5 - s.xy.y;
    let power = -0.5 * (s.conic.x * dx * dx + s.conic.z * dy * dy) - s.conic.y * dx * dy;
    if power > 0.0 {
        return f;
    }
    let gauss = exp(power);
    let alpha = min(s.opacity * gauss, 0.99);
    f = Fragment(alpha, gauss, dx, dy, alpha >= 1.0 / 255.0);
    return f;
}

@compute @workgroup_size(16, 16)
fn forward(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    let px = wg.x * TILE + lid.x;
    let py = wg.y * TILE + lid.y;
    if px >= params.width || py >= params.height {
        return;
    }
    let t = wg.y * params.tiles_x + wg.x;
    let start = offsets[t];
    let end = offsets[t + 1u];
    var colour = vec3<f32>(0.0);
    var trans = 1.0;
    var last_k = 0u;
    for (var k = start; k < end; k++) {
        if trans < 1e-4 {
            break;
        }
        let s = splats[ids[k]];
        let f = fragment(s, px, py);
        if !f.hit {
            continue;
        }
        colour += s.colour.rgb * f.alpha * trans;
        trans *= 1.0 - f.alpha;
        last_k = k - start + 1u;
    }
    let at = py * params.width + px;
    pixels[at] = vec4<f32>(colour + trans * params.background.rgb, trans);
    last[at] = last_k;
}

// Each pixel's contribution to the current entry, then summed over the tile in a fixed tree
// order: no float atomics, so the result does not depend on scheduling.
var<workgroup> partial: array<array<f32, 9>, 256>;
var<workgroup> longest: atomic<u32>;
var<workgroup> entries: u32;

@compute @workgroup_size(16, 16)
fn backward(
    @builtin(workgroup_id) wg: vec3<u32>,
    @builtin(local_invocation_id) lid: vec3<u32>,
    @builtin(local_invocation_index) li: u32,
) {
    let px = wg.x * TILE + lid.x;
    let py = wg.y * TILE + lid.y;
    // Pixels past the image's edge still take part in every barrier; they contribute zeros.
    let inside = px < params.width && py < params.height;
    let start = offsets[wg.y * params.tiles_x + wg.x];
    if li == 0u {
        atomicStore(&longest, 0u);
    }
    workgroupBarrier();
    var dl = vec3<f32>(0.0);
    var trans = 1.0;
    var mine = 0u;
    if inside {
        let at = py * params.width + px;
        let p = pixels[at];
        dl = p.rgb;
        trans = p.w;
        mine = last[at];
        atomicMax(&longest, mine);
    }
    workgroupBarrier();
    if li == 0u {
        entries = atomicLoad(&longest);
    }
    // The loop below holds barriers, so its bound must be the same for the whole workgroup.
    let n = workgroupUniformLoad(&entries);
    var behind = params.background.rgb;
    for (var j = 0u; j < n; j++) {
        let k = n - 1u - j; // back to front
        var g = array<f32, 9>(0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0);
        if k < mine {
            let s = splats[ids[start + k]];
            let f = fragment(s, px, py);
            if f.hit {
                let t_before = trans / (1.0 - f.alpha);
                var dl_dalpha = 0.0;
                for (var ch = 0u; ch < 3u; ch++) {
                    g[ch] = f.alpha * t_before * dl[ch];
                    dl_dalpha += t_before * (s.colour[ch] - behind[ch]) * dl[ch];
                }
                behind = f.alpha * s.colour.rgb + (1.0 - f.alpha) * behind;
                trans = t_before;
                // α was clamped at 0.99: no gradient through it.
                if s.opacity * f.gauss < 0.99 {
                    g[3] = dl_dalpha * f.gauss;
                    let dl_dpower = dl_dalpha * f.alpha;
                    g[4] = -0.5 * f.dx * f.dx * dl_dpower;
                    g[5] = -f.dx * f.dy * dl_dpower;
                    g[6] = -0.5 * f.dy * f.dy * dl_dpower;
                    g[7] = (s.conic.x * f.dx + s.conic.y * f.dy) * dl_dpower;
                    g[8] = (s.conic.z * f.dy + s.conic.y * f.dx) * dl_dpower;
                }
            }
        }
        partial[li] = g;
        workgroupBarrier();
        for (var stride = 128u; stride > 0u; stride >>= 1u) {
            if li < stride {
                for (var c = 0u; c < TERMS; c++) {
                    partial[li][c] += partial[li + stride][c];
                }
            }
            workgroupBarrier();
        }
        // Only invocation 0 reads slot 0 after the last barrier and only it writes slot 0 in
        // the next round, so no further barrier is needed here.
        if li == 0u {
            for (var c = 0u; c < TERMS; c++) {
                grads[(start + k) * TERMS + c] = partial[0][c];
            }
        }
    }
}
