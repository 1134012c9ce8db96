//! The flight page's map: where its tiles come from (the browser fetches them itself) and the
//! place search (asked through the server, which holds any key and keeps to the service's
//! rate limit).

use domain::ports::Place;

use crate::error::AppError;

/// The map's sources, as the server is configured.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct MapSources {
    /// OSM-style raster tile URL template (`{z}`, `{x}`, `{y}`); `None`: no map, the text field
    /// (and the search, if on) only.
    pub tiles: Option<String>,
    /// The credit the tiles' licence asks for.
    pub attribution: String,
    /// Whether the server has a place search.
    pub search: bool,
}

/// Where the map's tiles come from and whether places can be searched.
#[leptos::server(prefix = "/api", endpoint = "get_map_sources")]
pub async fn get_map_sources() -> Result<MapSources, AppError> {
    let (svc, _, _) = crate::services::require_user().await?;
    Ok(svc.map.clone())
}

/// Places matching what the pilot typed (a signed-in pilot's), best first.
#[leptos::server(prefix = "/api", endpoint = "search_places")]
pub async fn search_places(query: String) -> Result<Vec<Place>, AppError> {
    let (svc, _, _) = crate::services::require_user().await?;
    svc.places
        .search(&query)
        .await
        .map_err(|message| AppError::Invalid {
            field: "place".to_owned(),
            message,
        })
}
