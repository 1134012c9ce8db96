// The GPU depth sort: a stable LSD radix sort of (splat index, depth key) pairs in four 8-bit
// passes, giving the CPU sort's order (farthest first, equal depths in index order) without the
// CPU. The index comes first so the sorted pairs serve as the renderer's instance buffer as they
// are. Splats behind the near plane get the largest key and sort last; the vertex shader culls
// them.
//
// Per pass: `histogram` counts each block's digits into a digit-major table, `scan` turns the
// table into every (digit, block)'s first output slot, and `scatter` writes each block's items
// there in order — 256 at a time, ranked by a local stable sort (nine 1-bit splits) so no atomics
// decide any order. A block is 16 rounds of 256 items.

struct Frame {
    // xyz: the third row of the world-to-camera rotation; w: the translation's z.
    row: vec4f,
    count: u32,
    blocks: u32,
    near: f32,
    _pad: u32,
}

struct Pass {
    shift: u32,
}

const ROUNDS: u32 = 16u;
const BLOCK: u32 = 4096u;
const NONE: u32 = 256u;

@group(0) @binding(0) var<uniform> frame: Frame;
@group(0) @binding(1) var<uniform> pass_: Pass;
@group(0) @binding(2) var<storage, read> positions: array<f32>;
@group(0) @binding(3) var<storage, read> items_in: array<vec2u>;
@group(0) @binding(4) var<storage, read_write> items_out: array<vec2u>;
@group(0) @binding(5) var<storage, read_write> table: array<u32>;

var<workgroup> counts: array<atomic<u32>, 256>;
var<workgroup> scan_s: array<u32, 256>;
var<workgroup> digit_s: array<u32, 256>;
var<workgroup> key_s: array<u32, 256>;
var<workgroup> val_s: array<u32, 256>;
var<workgroup> offset_s: array<u32, 256>;
var<workgroup> run_s: array<u32, 256>;

// A u32 whose unsigned order is the float's order.
fn ordered_bits(f: f32) -> u32 {
    let b = bitcast<u32>(f);
    if (b & 0x80000000u) == 0u {
        return b | 0x80000000u;
    }
    return ~b;
}

@compute @workgroup_size(256)
fn keys(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
    for (var r = 0u; r < ROUNDS; r++) {
        let i = wid.x * BLOCK + r * 256u + lid;
        if i < frame.count {
            let p = vec3f(positions[3u * i], positions[3u * i + 1u], positions[3u * i + 2u]);
            let depth = dot(frame.row.xyz, p) + frame.row.w;
            var key = 0xffffffffu;
            if depth >= frame.near {
                // Farthest first: the ascending key inverted.
                key = ~ordered_bits(depth);
            }
            items_out[i] = vec2u(i, key);
        }
    }
}

@compute @workgroup_size(256)
fn histogram(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
    atomicStore(&counts[lid], 0u);
    workgroupBarrier();
    for (var r = 0u; r < ROUNDS; r++) {
        let i = wid.x * BLOCK + r * 256u + lid;
        if i < frame.count {
            atomicAdd(&counts[(items_in[i].y >> pass_.shift) & 255u], 1u);
        }
    }
    workgroupBarrier();
    table[lid * frame.blocks + wid.x] = atomicLoad(&counts[lid]);
}

// Inclusive prefix sum of `scan_s` across the workgroup (every invocation must call it).
fn scan_workgroup(lid: u32) {
    for (var offset = 1u; offset < 256u; offset *= 2u) {
        var v = scan_s[lid];
        if lid >= offset {
            v += scan_s[lid - offset];
        }
        workgroupBarrier();
        scan_s[lid] = v;
        workgroupBarrier();
    }
}

// One workgroup: invocation d owns digit d's row of the table.
@compute @workgroup_size(256)
fn scan(@builtin(local_invocation_index) lid: u32) {
    let row = lid * frame.blocks;
    var total = 0u;
    for (var b = 0u; b < frame.blocks; b++) {
        total += table[row + b];
    }
    scan_s[lid] = total;
    workgroupBarrier();
    scan_workgroup(lid);
    var running = scan_s[lid] - total;
    for (var b = 0u; b < frame.blocks; b++) {
        let here = table[row + b];
        table[row + b] = running;
        running += here;
    }
}

@compute @workgroup_size(256)
fn scatter(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
    offset_s[lid] = table[lid * frame.blocks + wid.x];
    for (var r = 0u; r < ROUNDS; r++) {
        let i = wid.x * BLOCK + r * 256u + lid;
        var digit = NONE;
        var item = vec2u(0u);
        if i < frame.count {
            item = items_in[i];
            digit = (item.y >> pass_.shift) & 255u;
        }
        // Stable local sort of the round by digit (0..=256): nine 1-bit splits.
        for (var bit = 0u; bit < 9u; bit++) {
            let one = (digit >> bit) & 1u;
            workgroupBarrier();
            scan_s[lid] = 1u - one;
            workgroupBarrier();
            scan_workgroup(lid);
            let zeros_through = scan_s[lid];
            let zeros = scan_s[255];
            var slot = zeros_through - 1u;
            if one == 1u {
                slot = zeros + lid - zeros_through;
            }
            digit_s[slot] = digit;
            val_s[slot] = item.x;
            key_s[slot] = item.y;
            workgroupBarrier();
            digit = digit_s[lid];
            item = vec2u(val_s[lid], key_s[lid]);
        }
        // Rank within the run of equal digits, then the run's next free slot in the output.
        let starts = lid == 0u || digit_s[lid - 1u] != digit;
        let ends = lid == 255u || digit_s[lid + 1u] != digit;
        if starts && digit != NONE {
            run_s[digit] = lid;
        }
        workgroupBarrier();
        var rank = 0u;
        if digit != NONE {
            rank = lid - run_s[digit];
            items_out[offset_s[digit] + rank] = item;
        }
        // Every invocation has read its run's offset before the run's last one moves it on.
        workgroupBarrier();
        if digit != NONE && ends {
            offset_s[digit] += rank + 1u;
        }
        workgroupBarrier();
    }
}
