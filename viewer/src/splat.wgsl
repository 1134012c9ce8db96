// Gaussian splats as instanced quads, blended back to front (the CPU sorts the instance list).
// The maths mirrors the format core's reference rasterizer (splat::render) term for term —
// EWA projection with a 0.3 px² dilation, the same bounding box, α = min(0.99, o·e^power),
// fragments below 1/255 dropped — so the two agree to within float rounding.

struct Uniforms {
    // Rows of camera_from_world's rotation; w holds the translation.
    rot0: vec4f,
    rot1: vec4f,
    rot2: vec4f,
    // Camera centre in world space (w unused).
    eye: vec4f,
    // fx, fy, cx, cy in pixels.
    focal: vec4f,
    // Viewport width, height, near plane, dilation.
    viewport: vec4f,
    // Texels per splat, texture width, SH coefficients per channel beyond DC, unused.
    splat_layout: vec4u,
}

@group(0) @binding(0) var<uniform> u: Uniforms;
@group(0) @binding(1) var splats: texture_2d<u32>;

struct VsOut {
    @builtin(position) position: vec4f,
    // Pixel position, interpolated across the quad.
    @location(0) pixel: vec2f,
    @location(1) @interpolate(flat) centre: vec2f,
    @location(2) @interpolate(flat) conic: vec3f,
    @location(3) @interpolate(flat) colour: vec4f,
    // The reference's bounding box: [floor(c − r), ceil(c + r)) per axis.
    @location(4) @interpolate(flat) bbox: vec4f,
}

fn texel(index: u32) -> vec4u {
    let w = u.splat_layout.y;
    return textureLoad(splats, vec2i(i32(index % w), i32(index / w)), 0);
}

const SH_C0: f32 = 0.2820948;
const SH_C1: f32 = 0.4886025;

fn culled() -> VsOut {
    var out: VsOut;
    out.position = vec4f(0.0, 0.0, 2.0, 1.0);
    return out;
}

@vertex
fn vs_main(@builtin(vertex_index) corner: u32, @location(0) splat: u32) -> VsOut {
    let k = u.splat_layout.x;
    let base = splat * k;
    // Up to 9 texels per splat (SH degree 3); copy them once.
    var words: array<u32, 36>;
    for (var t = 0u; t < k; t++) {
        let v = texel(base + t);
        words[t * 4u] = v.x;
        words[t * 4u + 1u] = v.y;
        words[t * 4u + 2u] = v.z;
        words[t * 4u + 3u] = v.w;
    }
    let world = vec3f(bitcast<f32>(words[0]), bitcast<f32>(words[1]), bitcast<f32>(words[2]));
    let opacity = bitcast<f32>(words[3]);
    let p = vec3f(
        dot(u.rot0.xyz, world) + u.rot0.w,
        dot(u.rot1.xyz, world) + u.rot1.w,
        dot(u.rot2.xyz, world) + u.rot2.w,
    );
    if p.z < u.viewport.z {
        return culled();
    }
    let sxx = bitcast<f32>(words[4]);
    let sxy = bitcast<f32>(words[5]);
    let sxz = bitcast<f32>(words[6]);
    let syy = bitcast<f32>(words[7]);
    let syz = bitcast<f32>(words[8]);
    let szz = bitcast<f32>(words[9]);
    let sigma = mat3x3f(sxx, sxy, sxz, sxy, syy, syz, sxz, syz, szz);
    let fx = u.focal.x;
    let fy = u.focal.y;
    // T = J W: the projection's Jacobian at p times the view rotation (rows), with x/z and y/z
    // held within 1.3 half-fields of view (splat::render::FRUSTUM_GUARD).
    let lim = 1.3 * 0.5 * u.viewport.xy / vec2f(fx, fy);
    let r = clamp(p.xy / p.z, -lim, lim);
    let j0 = vec3f(fx / p.z, 0.0, -fx * r.x / p.z);
    let j1 = vec3f(0.0, fy / p.z, -fy * r.y / p.z);
    let w = mat3x3f(u.rot0.xyz, u.rot1.xyz, u.rot2.xyz); // columns = rows of R → this is Rᵀ
    let t0 = w * j0; // row 0 of J·R, as a vector
    let t1 = w * j1;
    let a = dot(t0, sigma * t0) + u.viewport.w;
    let b = dot(t0, sigma * t1);
    let c = dot(t1, sigma * t1) + u.viewport.w;
    let det = a * c - b * b;
    if det <= 0.0 {
        return culled();
    }
    let mid = 0.5 * (a + c);
    let lambda = mid + sqrt(max(mid * mid - det, 0.1));
    let radius = 3.0 * sqrt(lambda);
    let centre = vec2f(fx * p.x / p.z + u.focal.z, fy * p.y / p.z + u.focal.w);

    // View-dependent colour from the SH coefficients (f16 pairs from word 10 on).
    let dir = normalize(world - u.eye.xyz);
    let x = dir.x;
    let y = dir.y;
    let z = dir.z;
    var basis: array<f32, 16>;
    basis[0] = SH_C0;
    basis[1] = -SH_C1 * y;
    basis[2] = SH_C1 * z;
    basis[3] = -SH_C1 * x;
    let xx = x * x;
    let yy = y * y;
    let zz = z * z;
    basis[4] = 1.0925484 * x * y;
    basis[5] = -1.0925484 * y * z;
    basis[6] = 0.3153916 * (2.0 * zz - xx - yy);
    basis[7] = -1.0925484 * x * z;
    basis[8] = 0.5462742 * (xx - yy);
    basis[9] = -0.5900436 * y * (3.0 * xx - yy);
    basis[10] = 2.8906114 * x * y * z;
    basis[11] = -0.4570458 * y * (4.0 * zz - xx - yy);
    basis[12] = 0.3731763 * z * (2.0 * zz - 3.0 * xx - 3.0 * yy);
    basis[13] = -0.4570458 * x * (4.0 * zz - xx - yy);
    basis[14] = 1.4453057 * z * (xx - yy);
    basis[15] = -0.5900436 * x * (xx - 3.0 * yy);
    let rest = u.splat_layout.z;
    var rgb = vec3f(0.0);
    for (var ch = 0u; ch < 3u; ch++) {
        var sum = basis[0] * half_at(&words, ch);
        for (var kk = 0u; kk < rest; kk++) {
            sum += basis[kk + 1u] * half_at(&words, 3u + ch * rest + kk);
        }
        rgb[ch] = max(sum + 0.5, 0.0);
    }

    // Corner 0..3 of a triangle strip; one pixel of margin so the reference's box (which may
    // reach half a pixel past the radius) is covered, the fragment stage trims to it exactly.
    let sx = f32(corner & 1u) * 2.0 - 1.0;
    let sy = f32(corner >> 1u) * 2.0 - 1.0;
    let pixel = centre + vec2f(sx, sy) * (radius + 1.0);
    var out: VsOut;
    out.position = vec4f(
        pixel.x / u.viewport.x * 2.0 - 1.0,
        1.0 - pixel.y / u.viewport.y * 2.0,
        0.5,
        1.0,
    );
    out.pixel = pixel;
    out.centre = centre;
    out.conic = vec3f(c / det, -b / det, a / det);
    out.colour = vec4f(rgb, opacity);
    out.bbox = vec4f(floor(centre - radius), ceil(centre + radius));
    return out;
}

fn half_at(words: ptr<function, array<u32, 36>>, j: u32) -> f32 {
    let pair = unpack2x16float((*words)[10u + j / 2u]);
    return select(pair.x, pair.y, (j & 1u) == 1u);
}

@fragment
fn fs_main(in: VsOut) -> @location(0) vec4f {
    // The pixel index this fragment covers; the reference visits indices inside its box.
    let index = floor(in.pixel);
    if index.x < in.bbox.x || index.y < in.bbox.y || index.x >= in.bbox.z || index.y >= in.bbox.w {
        discard;
    }
    let d = (index + 0.5) - in.centre;
    let power = -0.5 * (in.conic.x * d.x * d.x + in.conic.z * d.y * d.y) - in.conic.y * d.x * d.y;
    if power > 0.0 {
        discard;
    }
    let alpha = min(in.colour.a * exp(power), 0.99);
    if alpha < 1.0 / 255.0 {
        discard;
    }
    // Premultiplied: blended with (One, OneMinusSrcAlpha) over what lies behind.
    return vec4f(in.colour.rgb * alpha, alpha);
}
