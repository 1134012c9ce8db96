//! An unbundled SOG from one input: the first two bytes give the length of `meta.json`, and the
//! rest is the image every file name it lists resolves to. This reaches the meta parsing, the
//! v1/v2 dispatch and the size checks far more often than whole bundles do.
#![no_main]

use std::borrow::Cow;

use libfuzzer_sys::fuzz_target;
use splat::sog;

fuzz_target!(|data: &[u8]| {
    let Some((head, rest)) = data.split_first_chunk::<2>() else {
        return;
    };
    let split = usize::from(u16::from_le_bytes(*head)).min(rest.len());
    let (meta, image) = rest.split_at(split);
    if let Ok(cloud) = sog::decode(meta, |_| Ok(Cow::Borrowed(image))) {
        assert!(cloud.is_consistent());
    }
});
