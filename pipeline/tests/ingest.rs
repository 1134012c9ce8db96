#![allow(clippy::unwrap_used, clippy::cast_possible_truncation)] // tests: a panic is the failure report
//! Ingest against good photos and the bad inputs users and attackers send: traversal paths, zip
//! bombs, renamed text files, truncated JPEGs, too few or identical photos.

use std::io::Write as _;
use std::path::Path;

use pipeline::exif::{self, PhotoExif};
use pipeline::geo::GeoPoint;
use pipeline::ingest::{ingest, IngestOptions, Manifest};
use pipeline::job::JobDir;
use pipeline::progress::Collect;

/// A distinct, feature-rich JPEG (seeded noise), optionally with GPS.
fn photo(seed: u32, w: u32, h: u32, gps: Option<GeoPoint>) -> Vec<u8> {
    let img = image::RgbImage::from_fn(w, h, |x, y| {
        let v = (x.wrapping_mul(73_856_093)
            ^ y.wrapping_mul(19_349_663)
            ^ seed.wrapping_mul(83_492_791))
        .wrapping_mul(2_654_435_761);
        image::Rgb([(v >> 24) as u8, (v >> 16) as u8, (v >> 8) as u8])
    });
    let mut jpeg = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 85)
        .encode_image(&img)
        .unwrap();
    match gps {
        Some(g) => exif::insert_into_jpeg(
            &jpeg,
            &PhotoExif {
                gps: Some(g),
                focal_35mm: Some(24.0),
                ..PhotoExif::default()
            },
        ),
        None => jpeg,
    }
}

fn folder_of(dir: &Path, files: &[(&str, Vec<u8>)]) {
    std::fs::create_dir_all(dir).unwrap();
    for (name, bytes) in files {
        std::fs::write(dir.join(name), bytes).unwrap();
    }
}

fn run(src: &Path, job: &Path, opts: &IngestOptions) -> anyhow::Result<Manifest> {
    ingest(src, &JobDir::new(job), opts, &mut Collect::default())
}

fn reason_for<'a>(m: &'a Manifest, file: &str) -> &'a str {
    &m.rejected
        .iter()
        .find(|r| r.file == file)
        .unwrap_or_else(|| panic!("{file} was not refused: {:?}", m.rejected))
        .reason
}

fn zip_of(path: &Path, entries: &[(&str, &[u8], zip::CompressionMethod)]) {
    let mut w = zip::ZipWriter::new(std::fs::File::create(path).unwrap());
    for (name, bytes, method) in entries {
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(*method)
            .large_file(bytes.len() > u32::MAX as usize);
        w.start_file(*name, opts).unwrap();
        w.write_all(bytes).unwrap();
    }
    w.finish().unwrap();
}

#[test]
fn a_folder_of_photos_becomes_originals_working_copies_and_a_manifest() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    let gps = GeoPoint {
        lat: 46.5,
        lon: 6.6,
        alt: 400.0,
    };
    folder_of(
        &src,
        &[
            ("a.jpg", photo(1, 400, 300, Some(gps))),
            ("b.JPG", photo(2, 400, 300, Some(gps))),
            ("c.jpeg", photo(3, 400, 300, Some(gps))),
        ],
    );
    let opts = IngestOptions {
        working_max_size: 256,
        ..IngestOptions::default()
    };
    let job = tmp.path().join("job");
    let m = run(&src, &job, &opts).unwrap();
    assert_eq!(m.photos.len(), 3);
    assert_eq!(m.with_gps(), 3);
    for p in &m.photos {
        assert_eq!((p.width, p.height), (400, 300));
        assert_eq!((p.working_width, p.working_height), (256, 192));
        let original = std::fs::read(job.join("originals").join(&p.original)).unwrap();
        assert_eq!(
            original,
            std::fs::read(src.join(&p.source)).unwrap(),
            "originals are kept byte for byte"
        );
        let working = std::fs::read(job.join("images").join(&p.name)).unwrap();
        let img = image::load_from_memory(&working).unwrap();
        assert_eq!((img.width(), img.height()), (256, 192));
        // The working copy keeps the GPS for COLMAP's spatial matching.
        let g = exif::read(&working).gps.unwrap();
        assert!((g.lat - 46.5).abs() < 1e-7 && (g.alt - 400.0).abs() < 1e-3);
    }
    let again = Manifest::read(&JobDir::new(&job)).unwrap();
    assert_eq!(again.photos.len(), 3);
}

#[test]
fn hostile_zip_entries_are_refused_and_nothing_lands_outside_the_job() {
    let tmp = tempfile::tempdir().unwrap();
    let zip_path = tmp.path().join("upload.zip");
    let stored = zip::CompressionMethod::Stored;
    let evil = photo(9, 300, 200, None);
    let good: Vec<_> = (1..=3).map(|i| photo(i, 300, 200, None)).collect();
    zip_of(
        &zip_path,
        &[
            ("../evil.jpg", &evil, stored),
            ("/tmp/absolute-evil.jpg", &evil, stored),
            ("dir/../../evil2.jpg", &evil, stored),
            ("photos/1.jpg", &good[0], stored),
            ("photos/2.jpg", &good[1], stored),
            ("photos/3.jpg", &good[2], stored),
            ("__MACOSX/photos/._1.jpg", b"\0\x05\x16\x07", stored),
        ],
    );
    let job = tmp.path().join("jobs").join("j1");
    let m = run(&zip_path, &job, &IngestOptions::default()).unwrap();
    assert_eq!(m.photos.len(), 3);
    for bad in [
        "../evil.jpg",
        "/tmp/absolute-evil.jpg",
        "dir/../../evil2.jpg",
    ] {
        assert!(reason_for(&m, bad).contains("unsafe path"), "{bad}");
    }
    assert!(reason_for(&m, "__MACOSX/photos/._1.jpg").contains("system file"));
    assert!(!tmp.path().join("evil.jpg").exists());
    assert!(!tmp.path().join("jobs").join("evil.jpg").exists());
    assert!(!tmp.path().join("evil2.jpg").exists());
    // Everything written is inside the job directory.
    let mut outside = Vec::new();
    for entry in std::fs::read_dir(tmp.path()).unwrap() {
        let name = entry.unwrap().file_name();
        if name != "upload.zip" && name != "jobs" {
            outside.push(name);
        }
    }
    assert!(outside.is_empty(), "written outside the job: {outside:?}");
    let listing: Vec<_> = std::fs::read_dir(tmp.path().join("jobs"))
        .unwrap()
        .collect();
    assert_eq!(listing.len(), 1);
}

#[test]
fn a_zip_bomb_is_refused_without_inflating_it() {
    let tmp = tempfile::tempdir().unwrap();
    let zip_path = tmp.path().join("bomb.zip");
    let zeros = vec![0u8; 64 << 20];
    let good: Vec<_> = (1..=3).map(|i| photo(i, 300, 200, None)).collect();
    let deflated = zip::CompressionMethod::Deflated;
    zip_of(
        &zip_path,
        &[
            ("bomb.jpg", &zeros, deflated),
            ("1.jpg", &good[0], deflated),
            ("2.jpg", &good[1], deflated),
            ("3.jpg", &good[2], deflated),
        ],
    );
    assert!(std::fs::metadata(&zip_path).unwrap().len() < 1 << 20);
    let mut opts = IngestOptions::default();
    opts.limits.max_file_bytes = 8 << 20;
    let m = run(&zip_path, &tmp.path().join("job"), &opts).unwrap();
    assert_eq!(m.photos.len(), 3);
    assert!(
        reason_for(&m, "bomb.jpg").contains("MiB"),
        "{:?}",
        m.rejected
    );

    // Under the size limit but a thousand times its packed size: stopped at the ratio, after
    // reading a hundred times the packed size, not the 8 MiB.
    let dense = tmp.path().join("dense.zip");
    let zeros = vec![0u8; 4 << 20];
    zip_of(
        &dense,
        &[
            ("dense.jpg", &zeros, deflated),
            ("1.jpg", &good[0], deflated),
            ("2.jpg", &good[1], deflated),
            ("3.jpg", &good[2], deflated),
        ],
    );
    let m = run(&dense, &tmp.path().join("job-dense"), &opts).unwrap();
    assert_eq!(m.photos.len(), 3);
    assert!(
        reason_for(&m, "dense.jpg").contains("times its packed size"),
        "{:?}",
        m.rejected
    );

    // An archive with absurdly many entries is refused as a whole.
    let many = tmp.path().join("many.zip");
    let names: Vec<String> = (0..20).map(|i| format!("{i}.jpg")).collect();
    let entries: Vec<_> = names
        .iter()
        .map(|n| (n.as_str(), &b"x"[..], zip::CompressionMethod::Stored))
        .collect();
    zip_of(&many, &entries);
    opts.limits.max_files = 10;
    let e = run(&many, &tmp.path().join("job2"), &opts).unwrap_err();
    assert!(e.to_string().contains("20 entries"), "{e}");
}

#[test]
fn renamed_text_truncated_and_corrupt_files_get_their_own_reasons() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    let full = photo(4, 400, 300, None);
    let mut corrupt = photo(5, 400, 300, None);
    for b in &mut corrupt[200..900] {
        *b = 0xFF;
    }
    folder_of(
        &src,
        &[
            ("1.jpg", photo(1, 400, 300, None)),
            ("2.jpg", photo(2, 400, 300, None)),
            ("3.png", {
                let mut png = Vec::new();
                image::DynamicImage::ImageRgb8(image::RgbImage::from_fn(300, 200, |x, y| {
                    image::Rgb([(x * 7) as u8, (y * 3) as u8, ((x ^ y) * 5) as u8])
                }))
                .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
                .unwrap();
                png
            }),
            (
                "notes.jpg",
                b"These are my flight notes, not a photo.\n".to_vec(),
            ),
            ("cut.jpg", full[..full.len() / 2].to_vec()),
            ("tiny.jpg", photo(6, 40, 30, None)),
            ("corrupt.jpg", corrupt),
            ("empty.jpg", Vec::new()),
        ],
    );
    let m = run(&src, &tmp.path().join("job"), &IngestOptions::default()).unwrap();
    assert_eq!(m.photos.len(), 3, "{:?}", m.rejected);
    assert!(reason_for(&m, "notes.jpg").contains("it is text"));
    assert!(reason_for(&m, "cut.jpg").contains("truncated"));
    assert!(reason_for(&m, "tiny.jpg").contains("too small"));
    assert!(reason_for(&m, "empty.jpg").contains("empty"));
    assert!(reason_for(&m, "corrupt.jpg")
        .to_lowercase()
        .contains("jpeg"));
}

#[test]
fn too_few_or_identical_photos_fail_clearly_and_keep_the_earlier_result() {
    let tmp = tempfile::tempdir().unwrap();
    let job = tmp.path().join("job");
    let good = tmp.path().join("good");
    folder_of(
        &good,
        &(1..=3)
            .map(|i| {
                (
                    ["a.jpg", "b.jpg", "c.jpg"][i as usize - 1],
                    photo(i, 300, 200, None),
                )
            })
            .collect::<Vec<_>>(),
    );
    run(&good, &job, &IngestOptions::default()).unwrap();

    let two = tmp.path().join("two");
    folder_of(
        &two,
        &[
            ("1.jpg", photo(1, 300, 200, None)),
            ("2.jpg", photo(2, 300, 200, None)),
        ],
    );
    let e = run(&two, &job, &IngestOptions::default())
        .unwrap_err()
        .to_string();
    assert!(e.contains("2 usable photo(s); at least 3"), "{e}");

    let same = tmp.path().join("same");
    let p = photo(7, 300, 200, None);
    folder_of(
        &same,
        &[
            ("1.jpg", p.clone()),
            ("2.jpg", p.clone()),
            ("3.jpg", p.clone()),
            ("4.jpg", p),
        ],
    );
    let e = run(&same, &job, &IngestOptions::default())
        .unwrap_err()
        .to_string();
    assert!(e.contains("all 4 photos are the same picture"), "{e}");

    // The failed runs left the first result untouched and no staging behind.
    let m = Manifest::read(&JobDir::new(&job)).unwrap();
    assert_eq!(m.photos.len(), 3);
    assert_eq!(std::fs::read_dir(job.join("images")).unwrap().count(), 3);
    assert!(!job.join(".ingest-staging").exists());

    let e = run(&tmp.path().join("missing"), &job, &IngestOptions::default()).unwrap_err();
    assert!(e.to_string().contains("cannot read"), "{e}");
    let not_zip = tmp.path().join("photos.zip");
    std::fs::write(&not_zip, b"definitely not a zip").unwrap();
    let e = run(&not_zip, &job, &IngestOptions::default()).unwrap_err();
    assert!(e.to_string().contains("not a readable zip"), "{e}");
}
