//! Small building blocks shared by pages.

pub mod form;
pub mod nav;
pub mod progress;
pub mod full_load;
pub mod footer;
