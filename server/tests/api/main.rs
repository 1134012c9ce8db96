//! Integration tests: the real server on port 0 with a temporary data directory, driven over HTTP.

mod accounts;
mod assets;
mod cloud;
mod common;
mod jobs;
mod mail;
mod ops;
mod projects;
mod restart;
mod robustness;
mod uploads;
