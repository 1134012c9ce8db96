//! Spaceport's server: configuration, the embedded adapters behind the domain's ports, the axum
//! application (SSR pages, server functions, static assets, security middleware) and the admin
//! commands. `startup::Application` is what both the binary and the integration tests run.

pub mod adapters;
pub mod assets;
pub mod config;
pub mod db;
pub mod delivered;
pub mod disk;
pub mod elevation;
pub mod flight;
pub mod ops;
pub mod orphans;
pub mod password;
pub mod places;
pub mod progress;
pub mod security;
pub mod session;
pub mod startup;
pub mod uploads;
pub mod viewer_page;
