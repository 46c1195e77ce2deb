//! The fuzz targets' shared bodies (see harness.rs).
#[path = "harness.rs"]
pub mod harness;
