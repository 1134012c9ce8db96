//! Spiral flight planning for photogrammetry: one wedge of a bouncing spiral per battery, sized
//! so each battery's flight fits its minutes ([`optimise`]); altitudes that climb outbound,
//! descend inbound, follow rising terrain and clear ridges ([`plan`], [`elevation`]); exports
//! for Litchi and DJI ([`export`]); and an SVG picture of the plan ([`svg`]).
//!
//! Units: feet for everything the pilot sets and reads (heights, radii, Litchi's columns),
//! metres only where a format demands them (DJI WPML) and in elevation data.

pub mod elevation;
pub mod export;
pub mod mercator;
pub mod optimise;
pub mod plan;
pub mod svg;
