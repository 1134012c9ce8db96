//! Server functions: the browser's whole API. Each is a thin shell that parses its input into
//! domain types, takes the services from context, checks the user and delegates to a port.
//! Endpoints are fixed (`/api/<name>`) so integration tests and other clients can rely on them.

pub mod admin;
pub mod auth;
pub mod flight;
pub mod jobs;
pub mod map;
pub mod projects;
pub mod share;
