//! Any bytes as a ZIP (the `.sog` bundle's container): every entry read lies inside the input,
//! and entries that read back store again to an archive with the same entries.
#![no_main]

use libfuzzer_sys::fuzz_target;
use splat::zip;

fuzz_target!(|data: &[u8]| {
    if let Ok(entries) = zip::read_entries(data) {
        let range = data.as_ptr_range();
        for (_, body) in &entries {
            assert!(body.is_empty() || range.contains(&body.as_ptr()));
        }
        let borrowed: Vec<(&str, &[u8])> = entries.iter().map(|(n, d)| (n.as_str(), *d)).collect();
        if let Ok(stored) = zip::write_stored(&borrowed) {
            let again = zip::read_entries(&stored).expect("our own ZIP reads back");
            assert_eq!(again.len(), entries.len());
        }
    }
});
