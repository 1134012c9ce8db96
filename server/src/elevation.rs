//! Ground elevation for flight plans: SRTM `.hgt` tiles from `DATA_DIR/dem/` when the operator
//! has put some there (download the tiles covering your area once; no key, no network at
//! planning time), flat ground otherwise.

use std::path::Path;
use std::sync::Arc;

use anyhow::Context as _;
use planner::elevation::{Elevation, FlatGround, HgtTile, HgtTiles};

pub fn load(data_dir: &Path) -> anyhow::Result<Arc<dyn Elevation>> {
    let dir = data_dir.join("dem");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        tracing::info!("no {}: flight plans assume flat ground", dir.display());
        return Ok(Arc::new(FlatGround));
    };
    let mut tiles = HgtTiles::default();
    for entry in entries {
        let path = entry?.path();
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        if !name.to_ascii_lowercase().ends_with(".hgt") {
            continue;
        }
        let bytes =
            std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
        tiles.insert(HgtTile::parse(name, &bytes).with_context(|| format!("{}", path.display()))?);
    }
    if tiles.is_empty() {
        tracing::info!(
            "no .hgt tiles in {}: flight plans assume flat ground",
            dir.display()
        );
        return Ok(Arc::new(FlatGround));
    }
    tracing::info!("terrain for flight plans from {}", dir.display());
    Ok(Arc::new(tiles))
}
