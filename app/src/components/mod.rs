//! Small building blocks shared by pages.

pub mod footer;
pub mod form;
pub mod full_load;
pub mod map;
pub mod nav;
pub mod progress;
