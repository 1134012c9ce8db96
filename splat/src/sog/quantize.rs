//! Quantisers for SOG: the optimal 1-D codebook (256 entries, squared error) and a tree-structured
//! k-means for the spherical-harmonics palette.

/// Values are first grouped into at most this many equal-count runs of the sorted input; the
/// dynamic programme then places codebook boundaries between runs. 4,096 runs make the result
/// indistinguishable from the exact optimum for 8-bit codebooks while keeping the DP cheap.
const MAX_RUNS: usize = 4096;

/// A 256-entry codebook (ascending; padded by repeating the last entry) minimising the squared
/// error of `values`, by dynamic programming over contiguous segments of the sorted values.
/// Non-finite values are ignored when choosing entries.
pub fn codebook_1d(values: &[f32]) -> [f32; 256] {
    let mut sorted: Vec<f32> = values.iter().copied().filter(|v| v.is_finite()).collect();
    if sorted.is_empty() {
        return [0.0; 256];
    }
    sorted.sort_by(f32::total_cmp);
    sorted.dedup();
    if sorted.len() <= 256 {
        let last = sorted[sorted.len() - 1];
        return std::array::from_fn(|i| sorted.get(i).copied().unwrap_or(last));
    }
    // Runs of the sorted values (count, sum, sum of squares) — weighted by how often each value
    // occurs in the input would be better still; equal-count runs of distinct values keep the
    // tails (large scales, bright colours) represented, which matters for rendering.
    let runs = sorted.len().min(MAX_RUNS);
    let mut count = vec![0f64; runs + 1];
    let mut sum = vec![0f64; runs + 1];
    let mut sq = vec![0f64; runs + 1];
    for r in 0..runs {
        let lo = r * sorted.len() / runs;
        let hi = (r + 1) * sorted.len() / runs;
        let (mut s, mut q) = (0f64, 0f64);
        for &v in &sorted[lo..hi] {
            s += f64::from(v);
            q += f64::from(v) * f64::from(v);
        }
        #[allow(clippy::cast_precision_loss)]
        let n = (hi - lo) as f64;
        count[r + 1] = count[r] + n;
        sum[r + 1] = sum[r] + s;
        sq[r + 1] = sq[r] + q;
    }
    // cost(i, j): squared error of runs i..j around their mean.
    let cost = |i: usize, j: usize| {
        let n = count[j] - count[i];
        if n <= 0.0 {
            return 0.0;
        }
        let s = sum[j] - sum[i];
        (sq[j] - sq[i]) - s * s / n
    };
    let k = 256;
    // dp[j] = best cost of covering runs 0..j with the clusters so far; split points are
    // monotone, so each layer is solved by divide and conquer in O(runs · log runs).
    let mut dp: Vec<f64> = (0..=runs).map(|j| cost(0, j)).collect();
    let mut splits: Vec<Vec<usize>> = Vec::with_capacity(k);
    splits.push(vec![0; runs + 1]);
    for _ in 1..k {
        let mut next = vec![f64::INFINITY; runs + 1];
        let mut arg = vec![0usize; runs + 1];
        solve_layer(&dp, &cost, 1, runs, 0, runs, &mut next, &mut arg);
        next[0] = 0.0;
        dp = next;
        splits.push(arg);
    }
    // Walk back through the split points to the segment means.
    let mut bounds = vec![runs];
    let mut j = runs;
    for layer in (1..k).rev() {
        j = splits[layer][j];
        bounds.push(j);
    }
    bounds.push(0);
    bounds.reverse();
    let mut book: Vec<f32> = bounds
        .windows(2)
        .filter(|w| w[1] > w[0])
        .map(|w| {
            #[allow(clippy::cast_possible_truncation)]
            let mean = ((sum[w[1]] - sum[w[0]]) / (count[w[1]] - count[w[0]])) as f32;
            mean
        })
        .collect();
    book.sort_by(f32::total_cmp);
    let last = book.last().copied().unwrap_or(0.0);
    std::array::from_fn(|i| book.get(i).copied().unwrap_or(last))
}

#[allow(clippy::too_many_arguments)]
fn solve_layer(
    prev: &[f64],
    cost: &dyn Fn(usize, usize) -> f64,
    lo: usize,
    hi: usize,
    opt_lo: usize,
    opt_hi: usize,
    out: &mut [f64],
    arg: &mut [usize],
) {
    if lo > hi {
        return;
    }
    let mid = usize::midpoint(lo, hi);
    let mut best = (f64::INFINITY, opt_lo);
    for (i, &before) in prev
        .iter()
        .enumerate()
        .take(opt_hi.min(mid) + 1)
        .skip(opt_lo)
    {
        let c = before + cost(i, mid);
        if c < best.0 {
            best = (c, i);
        }
    }
    out[mid] = best.0;
    arg[mid] = best.1;
    if mid > lo {
        solve_layer(prev, cost, lo, mid - 1, opt_lo, best.1, out, arg);
    }
    solve_layer(prev, cost, mid + 1, hi, best.1, opt_hi, out, arg);
}

/// Index of the codebook entry nearest to `v` (the codebook is ascending).
pub fn nearest(book: &[f32; 256], v: f32) -> u8 {
    if v.is_nan() {
        return nearest(book, 0.0);
    }
    let upper = book.partition_point(|&c| c < v);
    let best = match upper {
        0 => 0,
        256 => 255,
        u => {
            if (v - book[u - 1]).abs() <= (book[u] - v).abs() {
                u - 1
            } else {
                u
            }
        }
    };
    u8::try_from(best).unwrap_or(255)
}

/// A palette of at most `k` centroids for `n = vectors.len() / dim` vectors, and each vector's
/// label: tree-structured k-means, splitting clusters 16 ways level by level (a flat k-means over
/// 65,536 centroids would cost N·K distance evaluations per iteration; the tree costs N·16 per
/// level). Deterministic: no randomness in initialisation.
pub fn palette(vectors: &[f32], dim: usize, k: usize) -> (Vec<f32>, Vec<u32>) {
    let n = vectors.len().checked_div(dim).unwrap_or(0);
    let mut centroids = Vec::new();
    let mut labels = vec![0u32; n];
    let indices: Vec<u32> = (0..u32::try_from(n).unwrap_or(u32::MAX)).collect();
    split(vectors, dim, indices, k.max(1), &mut centroids, &mut labels);
    (centroids, labels)
}

fn mean_of(vectors: &[f32], dim: usize, members: &[u32]) -> Vec<f32> {
    let mut m = vec![0f32; dim];
    for &i in members {
        let v = &vectors[i as usize * dim..(i as usize + 1) * dim];
        m.iter_mut().zip(v).for_each(|(a, b)| *a += b);
    }
    #[allow(clippy::cast_precision_loss)]
    let inv = 1.0 / members.len().max(1) as f32;
    for a in &mut m {
        *a *= inv;
    }
    m
}

fn split(
    vectors: &[f32],
    dim: usize,
    members: Vec<u32>,
    k: usize,
    out: &mut Vec<f32>,
    labels: &mut [u32],
) {
    if members.is_empty() {
        return;
    }
    if k <= 1 || members.len() == 1 {
        let label = u32::try_from(out.len() / dim.max(1)).unwrap_or(u32::MAX);
        out.extend(mean_of(vectors, dim, &members));
        for &i in &members {
            labels[i as usize] = label;
        }
        return;
    }
    let branches = k.min(16).min(members.len());
    let groups = lloyd(vectors, dim, &members, branches);
    if groups.len() <= 1 {
        // Every member is (numerically) the same vector: one centroid says it all.
        return split(vectors, dim, members, 1, out, labels);
    }
    // Share this cluster's palette budget among the children by size, each getting at least one.
    let total = members.len();
    let mut budgets: Vec<usize> = groups
        .iter()
        .map(|g| (g.len() * k / total).max(usize::from(!g.is_empty())))
        .collect();
    let mut assigned: usize = budgets.iter().sum();
    let mut order: Vec<usize> = (0..groups.len()).collect();
    order.sort_by_key(|&g| std::cmp::Reverse(groups[g].len()));
    for &g in order.iter().cycle().take(4 * groups.len() * 16) {
        if assigned == k {
            break;
        }
        if assigned < k && budgets[g] < groups[g].len() {
            budgets[g] += 1;
            assigned += 1;
        } else if assigned > k && budgets[g] > 1 {
            budgets[g] -= 1;
            assigned -= 1;
        }
    }
    for (group, budget) in groups.into_iter().zip(budgets) {
        split(vectors, dim, group, budget, out, labels);
    }
}

/// A few Lloyd iterations of k-means with `k` clusters over `members`, seeded with members spread
/// evenly through the list (the caller's order is spatially coherent, so this spreads seeds).
fn lloyd(vectors: &[f32], dim: usize, members: &[u32], k: usize) -> Vec<Vec<u32>> {
    let at = |i: u32| &vectors[i as usize * dim..(i as usize + 1) * dim];
    let mut centres: Vec<Vec<f32>> = (0..k)
        .map(|c| at(members[c * members.len() / k]).to_vec())
        .collect();
    let mut assignment = vec![0usize; members.len()];
    for _ in 0..6 {
        let mut moved = false;
        for (slot, &i) in assignment.iter_mut().zip(members) {
            let v = at(i);
            let best = centres
                .iter()
                .map(|c| c.iter().zip(v).map(|(a, b)| (a - b) * (a - b)).sum::<f32>())
                .enumerate()
                .min_by(|a, b| a.1.total_cmp(&b.1))
                .map_or(0, |(c, _)| c);
            moved |= *slot != best;
            *slot = best;
        }
        let mut sums = vec![vec![0f32; dim]; k];
        let mut counts = vec![0usize; k];
        for (&c, &i) in assignment.iter().zip(members) {
            counts[c] += 1;
            sums[c].iter_mut().zip(at(i)).for_each(|(a, b)| *a += b);
        }
        for c in 0..k {
            if counts[c] > 0 {
                #[allow(clippy::cast_precision_loss)]
                let inv = 1.0 / counts[c] as f32;
                centres[c] = sums[c].iter().map(|s| s * inv).collect();
            }
        }
        if !moved {
            break;
        }
    }
    let mut groups = vec![Vec::new(); k];
    for (&c, &i) in assignment.iter().zip(members) {
        groups[c].push(i);
    }
    groups.retain(|g| !g.is_empty());
    groups
}

#[cfg(test)]
#[allow(clippy::float_cmp)] // codebook entries are copied, not computed
mod tests {
    use super::*;

    #[test]
    fn few_values_are_kept_exactly() {
        let book = codebook_1d(&[3.0, 1.0, 2.0, 1.0]);
        assert_eq!(&book[..4], &[1.0, 2.0, 3.0, 3.0]);
        assert_eq!(nearest(&book, 2.2), 1);
        assert_eq!(nearest(&book, -9.0), 0);
        assert_eq!(
            book[usize::from(nearest(&book, 9.0))],
            3.0,
            "padding repeats the last entry"
        );
    }

    #[test]
    fn many_values_get_a_tight_codebook() {
        #[allow(clippy::cast_precision_loss)]
        let values: Vec<f32> = (0..100_000)
            .map(|i| ((i * 7919) % 100_000) as f32 / 100_000.0)
            .collect();
        let book = codebook_1d(&values);
        assert!(book.windows(2).all(|w| w[0] <= w[1]), "ascending");
        // Uniform on [0, 1): 256 levels leave at most about 1/512 of error.
        let worst = values
            .iter()
            .map(|&v| (v - book[usize::from(nearest(&book, v))]).abs())
            .fold(0.0, f32::max);
        assert!(worst < 1.5 / 512.0, "worst error {worst}");
    }
}
