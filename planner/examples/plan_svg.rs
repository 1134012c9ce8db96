//! Prints a plan's top view as SVG: the landing page's flight-plan picture
//! (`public/showcase/flight-plan.svg`) is
//! `cargo run -p planner --example plan_svg -- 33.7 -117.8 20 2 120 300`
//! (centre latitude and longitude, battery minutes, batteries, lowest and highest height in ft),
//! over flat ground.

use planner::elevation::FlatGround;
use planner::plan::{plan, Inputs};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<f64> = std::env::args()
        .skip(1)
        .map(|a| a.parse::<f64>())
        .collect::<Result<_, _>>()?;
    let [lat, lon, minutes, batteries, min_ft, max_ft] = args[..] else {
        return Err("give: lat lon battery-minutes batteries min-height-ft max-height-ft".into());
    };
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)] // a small count
    let batteries = batteries as u32;
    let p = plan(
        &Inputs {
            center_lat: lat,
            center_lon: lon,
            battery_minutes: minutes,
            batteries,
            min_height_ft: min_ft,
            max_height_ft: max_ft,
        },
        &FlatGround,
    )?;
    println!("{}", planner::svg::top_view(&p));
    Ok(())
}
