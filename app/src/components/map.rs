//! The flight page's map: OSM-style raster tiles under the planned path, and a marker that is
//! the flight's centre. Written here over `planner::mercator` rather than bound from a JavaScript
//! map library: the page needs pan, zoom, one marker and a few lines. This (with the place
//! search) adds 63 KB gzip to the signed-in bundle, about what Leaflet's script and style
//! (~46 KB gzip) plus bindings to it would, without a second language, a second event model, or
//! a script file outside the app's build (see docs/decisions.md).
//!
//! One element (the surface) takes every pointer, wheel and key event; what is drawn on it lets
//! pointers through, so event offsets are always the surface's. Mouse and touch are the same
//! pointer events: drag to pan, tap or click to put the centre there, drag the marker to move
//! it, pinch or wheel to zoom. Without a pointer: arrow keys pan, `+`/`-` zoom, and Enter puts
//! the centre under the crosshair. When tiles cannot load, the map says so and steps aside for
//! the "lat, lon" field, which always stays and stays in sync.

use domain::{center_text, parse_center};
use leptos::ev;
use leptos::prelude::*;
use planner::mercator::{self, to_lat_lon, to_px, MAX_ZOOM, MIN_ZOOM, TILE_PX};

use crate::api::map::MapSources;

/// The plan drawn over the map: each battery's path (latitude, longitude) and the hold radius.
#[derive(Debug, Clone, PartialEq)]
pub struct Overlay {
    pub paths: Vec<Vec<(f64, f64)>>,
    pub hold_radius_m: f64,
}

/// The zoom a centre is first shown at: a spiral of a few hundred metres fills the map.
const SITE_ZOOM: u8 = 15;
/// Pixels a pointer may wander and still count as a click (a tap is never perfectly still).
const CLICK_SLOP: f64 = 6.0;
/// How near the marker a press grabs it rather than the map.
const MARKER_GRAB: f64 = 24.0;
/// Pixels an arrow key pans (Shift: three times as far).
const KEY_PAN: f64 = 80.0;

#[derive(Clone, Copy, Debug, PartialEq)]
enum Drag {
    Idle,
    Pan,
    /// Moving the marker: where it sits relative to the pointer that holds it.
    Marker {
        grab: (f64, f64),
    },
    /// Two fingers: their distance when the zoom last changed.
    Pinch {
        dist: f64,
    },
}

#[derive(Clone, Debug)]
struct Gesture {
    /// Pointers down, at their surface positions.
    pointers: Vec<(i32, (f64, f64))>,
    drag: Drag,
    /// How far the pointer went since it went down (a click stays under `CLICK_SLOP`).
    travelled: f64,
    /// Where the last pointer went down: a click places the centre there.
    pressed: (f64, f64),
    /// Wheel movement not yet turned into a zoom step, and when the last step was.
    wheel: f64,
    wheel_at: f64,
}

fn distance(a: (f64, f64), b: (f64, f64)) -> f64 {
    (a.0 - b.0).hypot(a.1 - b.1)
}

/// The map's view: its centre in world pixels at its zoom, and its size on screen.
#[derive(Clone, Copy, Debug, PartialEq)]
struct View {
    zoom: u8,
    center: (f64, f64),
    size: (f64, f64),
}

impl View {
    /// The world pixel at the view's top-left corner.
    fn origin(self) -> (f64, f64) {
        (
            self.center.0 - self.size.0 / 2.0,
            self.center.1 - self.size.1 / 2.0,
        )
    }

    /// Where a point is on screen (pixels from the top-left).
    fn on_screen(self, lat: f64, lon: f64) -> (f64, f64) {
        let (x, y) = to_px(lat, lon, self.zoom);
        let o = self.origin();
        (x - o.0, y - o.1)
    }

    /// The point under a screen position.
    fn at(self, p: (f64, f64)) -> (f64, f64) {
        let o = self.origin();
        to_lat_lon(o.0 + p.0, o.1 + p.1, self.zoom)
    }

    /// One zoom step in (`+1`) or out (`-1`), keeping the point under `p` where it is.
    fn zoomed(self, step: i8, p: (f64, f64)) -> Self {
        let zoom = self
            .zoom
            .saturating_add_signed(step)
            .clamp(MIN_ZOOM, MAX_ZOOM);
        if zoom == self.zoom {
            return self;
        }
        let f = if zoom > self.zoom { 2.0 } else { 0.5 };
        let o = self.origin();
        let world = ((o.0 + p.0) * f, (o.1 + p.1) * f);
        Self {
            zoom,
            center: (
                world.0 - p.0 + self.size.0 / 2.0,
                world.1 - p.1 + self.size.1 / 2.0,
            ),
            size: self.size,
        }
    }

    /// Moved by a screen distance (the map follows the pointer), kept on the world vertically.
    fn panned(self, by: (f64, f64)) -> Self {
        let world = mercator::world_px(self.zoom);
        Self {
            center: (
                (self.center.0 - by.0).rem_euclid(world),
                (self.center.1 - by.1).clamp(0.0, world),
            ),
            ..self
        }
    }
}

/// Calls `measure` each animation frame until it says the element is laid out.
fn until_laid_out(measure: impl Fn() -> bool + Copy + 'static, frames: u32) {
    if !measure() && frames > 0 {
        request_animation_frame(move || until_laid_out(measure, frames - 1));
    }
}

/// The map, its marker bound to `center` (the form's "lat, lon" text) both ways, and `overlay`
/// drawn on it.
#[component]
pub fn SiteMap(
    sources: MapSources,
    center: RwSignal<String>,
    #[prop(into)] overlay: Signal<Option<Overlay>>,
) -> impl IntoView {
    let Some(template) = sources.tiles else {
        return ().into_any();
    };
    let template = StoredValue::new(template);
    let start = parse_center(&center.get_untracked()).ok();
    let view = RwSignal::new(View {
        zoom: if start.is_some() { SITE_ZOOM } else { 2 },
        center: start.map_or_else(
            || to_px(30.0, 0.0, 2),
            |(lat, lon)| to_px(lat, lon, SITE_ZOOM),
        ),
        // Measured once the map is on the page (the server draws no tiles).
        size: (0.0, 0.0),
    });
    let marker = Memo::new(move |_| parse_center(&center.read()).ok());
    let (loads, errors) = (RwSignal::new(0u32), RwSignal::new(0u32));
    // Every tile so far refused (a few tried): the tile server is down, blocked or misnamed.
    let failed = move || loads.get() == 0 && errors.get() >= 3;
    let focused = RwSignal::new(false);
    let gesture = StoredValue::new(Gesture {
        pointers: Vec::new(),
        drag: Drag::Idle,
        travelled: 0.0,
        pressed: (0.0, 0.0),
        wheel: 0.0,
        wheel_at: f64::NEG_INFINITY,
    });
    let surface = NodeRef::<leptos::html::Div>::new();
    // The surface's size, once it is laid out: a page drawn in the browser mounts the map a
    // moment after it is built (and a Suspense later still), so look again each frame until it
    // has one.
    let measure = move || {
        let Some(el) = surface.get_untracked() else {
            return false;
        };
        let size = (f64::from(el.client_width()), f64::from(el.client_height()));
        if size != view.get_untracked().size {
            view.update(|v| v.size = size);
        }
        size.0 > 0.0
    };
    Effect::new(move |_| {
        if surface.get().is_some() {
            until_laid_out(measure, 600);
        }
    });
    let resize = window_event_listener(ev::resize, move |_| {
        measure();
    });
    on_cleanup(move || resize.remove());

    // Set by the map when it moves the centre itself: it is on screen where the pointer put it,
    // and must stay there (near the edge too), not be brought to the middle under the pointer.
    let placed_here = StoredValue::new(false);
    // The centre typed (or found by the search) off the map: bring it into view.
    Effect::new(move |before: Option<Option<(f64, f64)>>| {
        let now = marker.get();
        let own = placed_here.get_value();
        placed_here.set_value(false);
        if let (Some(before), Some((lat, lon)), false) = (before, now, own) {
            if before != now {
                let v = view.get_untracked();
                let (x, y) = v.on_screen(lat, lon);
                let inside = (0.1 * v.size.0..=0.9 * v.size.0).contains(&x)
                    && (0.1 * v.size.1..=0.9 * v.size.1).contains(&y);
                if !inside {
                    let zoom = if v.zoom < SITE_ZOOM - 2 {
                        SITE_ZOOM
                    } else {
                        v.zoom
                    };
                    view.set(View {
                        zoom,
                        center: to_px(lat, lon, zoom),
                        size: v.size,
                    });
                }
            }
        }
        now
    });

    let place = move |p: (f64, f64)| {
        let (lat, lon) = view.get_untracked().at(p);
        placed_here.set_value(true);
        center.set(center_text(lat, lon));
    };
    let offset = |ev: &ev::PointerEvent| (f64::from(ev.offset_x()), f64::from(ev.offset_y()));
    let on_down = move |ev: ev::PointerEvent| {
        if ev.pointer_type() == "mouse" && ev.button() != 0 {
            return;
        }
        // No preventDefault: the press focuses the surface (for the keys) as a click on any
        // control does, and a focus the script asked for would scroll the page under the pointer.
        measure();
        if let Some(el) = surface.get_untracked() {
            let _ = el.set_pointer_capture(ev.pointer_id());
        }
        let p = offset(&ev);
        let v = view.get_untracked();
        let on_marker = marker
            .get_untracked()
            .map(|(lat, lon)| v.on_screen(lat, lon))
            .filter(|m| distance(*m, p) <= MARKER_GRAB);
        gesture.update_value(|g| {
            g.pointers.retain(|(id, _)| *id != ev.pointer_id());
            g.pointers.push((ev.pointer_id(), p));
            g.drag = match (g.pointers.as_slice(), on_marker) {
                ([_], Some(m)) => Drag::Marker {
                    grab: (m.0 - p.0, m.1 - p.1),
                },
                ([_], None) => Drag::Pan,
                ([(_, a), (_, b), ..], _) => Drag::Pinch {
                    dist: distance(*a, *b).max(1.0),
                },
                ([], _) => Drag::Idle,
            };
            g.travelled = 0.0;
            g.pressed = p;
        });
    };
    let on_move = move |ev: ev::PointerEvent| {
        let p = offset(&ev);
        let mut step = None;
        let mut pan = None;
        let mut marker_at = None;
        gesture.update_value(|g| {
            let Some(i) = g.pointers.iter().position(|(id, _)| *id == ev.pointer_id()) else {
                return;
            };
            let before = g.pointers[i].1;
            g.pointers[i].1 = p;
            let by = (p.0 - before.0, p.1 - before.1);
            g.travelled += by.0.hypot(by.1);
            match g.drag {
                Drag::Idle => {}
                Drag::Pan => pan = Some(by),
                Drag::Marker { grab } => marker_at = Some((p.0 + grab.0, p.1 + grab.1)),
                Drag::Pinch { dist } => {
                    if let [(_, a), (_, b), ..] = g.pointers.as_slice() {
                        let (now, mid) = (
                            distance(*a, *b),
                            (f64::midpoint(a.0, b.0), f64::midpoint(a.1, b.1)),
                        );
                        pan = Some((by.0 / 2.0, by.1 / 2.0));
                        if now > dist * 1.6 {
                            step = Some((1, mid));
                        } else if now < dist / 1.6 {
                            step = Some((-1, mid));
                        }
                        if step.is_some() {
                            g.drag = Drag::Pinch { dist: now.max(1.0) };
                        }
                    }
                }
            }
        });
        if let Some(by) = pan {
            view.update(|v| *v = v.panned(by));
        }
        if let Some((s, mid)) = step {
            view.update(|v| *v = v.zoomed(s, mid));
        }
        if let Some(m) = marker_at {
            place(m);
        }
    };
    let on_up = move |ev: ev::PointerEvent, cancelled: bool| {
        let mut click = None;
        gesture.update_value(|g| {
            let was = g.pointers.len();
            g.pointers.retain(|(id, _)| *id != ev.pointer_id());
            if was == g.pointers.len() {
                return;
            }
            click = (!cancelled && was == 1 && g.drag == Drag::Pan && g.travelled < CLICK_SLOP)
                .then_some(g.pressed);
            g.drag = if g.pointers.is_empty() {
                Drag::Idle
            } else {
                // One finger left of a pinch pans on, and is never a tap.
                g.travelled = f64::INFINITY;
                Drag::Pan
            };
        });
        if let Some(p) = click {
            place(p);
        }
    };
    let on_wheel = move |ev: ev::WheelEvent| {
        ev.prevent_default();
        let p = (f64::from(ev.offset_x()), f64::from(ev.offset_y()));
        // Lines and pages, as some mice report, count as about 40 pixels.
        let dy = if ev.delta_mode() == 0 {
            ev.delta_y()
        } else {
            ev.delta_y() * 40.0
        };
        let mut step = 0i8;
        gesture.update_value(|g| {
            g.wheel += dy;
            // A trackpad sends many small deltas: one step per notch's worth, and not faster
            // than a step every quarter second.
            if g.wheel.abs() >= 50.0 && ev.time_stamp() - g.wheel_at > 250.0 {
                step = if g.wheel < 0.0 { 1 } else { -1 };
                g.wheel = 0.0;
                g.wheel_at = ev.time_stamp();
            }
        });
        if step != 0 {
            view.update(|v| *v = v.zoomed(step, p));
        }
    };
    let on_key = move |ev: ev::KeyboardEvent| {
        let v = view.get_untracked();
        let mid = (v.size.0 / 2.0, v.size.1 / 2.0);
        let far = if ev.shift_key() { 3.0 } else { 1.0 } * KEY_PAN;
        match ev.key().as_str() {
            "ArrowLeft" => view.set(v.panned((far, 0.0))),
            "ArrowRight" => view.set(v.panned((-far, 0.0))),
            "ArrowUp" => view.set(v.panned((0.0, far))),
            "ArrowDown" => view.set(v.panned((0.0, -far))),
            "+" | "=" => view.set(v.zoomed(1, mid)),
            "-" | "_" => view.set(v.zoomed(-1, mid)),
            "Enter" | " " => place(mid),
            _ => return,
        }
        ev.prevent_default();
    };

    let tiles = move || {
        let v = view.get();
        if v.size.0 <= 0.0 {
            return Vec::new();
        }
        mercator::tiles_covering(v.center, v.zoom, v.size.0, v.size.1)
    };
    let tile_view = move |t: mercator::TileSpot| {
        #[allow(clippy::cast_precision_loss)] // columns are far below 2^52
        let (x, y) = (t.column as f64 * TILE_PX, f64::from(t.y) * TILE_PX);
        let at = move || {
            let o = view.get().origin();
            format!("translate({:.0}px, {:.0}px)", x - o.0, y - o.1)
        };
        view! {
            <img
                class="map-tile"
                src=template.with_value(|tpl| mercator::tile_url(tpl, t.z, t.x, t.y))
                alt=""
                draggable="false"
                // The page's policy sends no Referer off this origin, and public tile servers
                // (OpenStreetMap's among them) refuse browsers that send none: name the site,
                // never the page (a project's address).
                referrerpolicy="strict-origin"
                style:transform=at
                on:load=move |_| loads.update(|n| *n += 1)
                on:error=move |_| errors.update(|n| *n += 1)
            />
        }
    };
    let plan_lines = move || {
        let now = view.get();
        let plan = overlay.get()?;
        let (lat, lon) = marker.get()?;
        let c = now.on_screen(lat, lon);
        let r = plan.hold_radius_m / mercator::metres_per_px(lat, now.zoom);
        let lines = plan
            .paths
            .iter()
            .enumerate()
            .map(|(i, path)| {
                let points = path
                    .iter()
                    .map(|&(lat, lon)| {
                        let (x, y) = now.on_screen(lat, lon);
                        format!("{x:.1},{y:.1}")
                    })
                    .collect::<Vec<_>>()
                    .join(" ");
                view! {
                    <polyline points=points stroke=planner::svg::battery_colour(i) />
                }
            })
            .collect_view();
        Some(view! {
            <circle class="map-hold" cx=format!("{:.1}", c.0) cy=format!("{:.1}", c.1) r=format!("{r:.1}") />
            {lines}
        })
    };
    let marker_at = move || {
        let (lat, lon) = marker.get()?;
        let (x, y) = view.get().on_screen(lat, lon);
        Some(format!("translate({x:.0}px, {y:.0}px)"))
    };
    let attribution = sources.attribution;
    view! {
        <div class="site-map" data-testid="site-map" data-zoom=move || view.get().zoom.to_string()>
            <Show
                when=move || !failed()
                fallback=|| view! {
                    <p class="map-failed" role="alert" data-testid="map-failed">
                        "The map could not load (its tile server did not answer). Type the centre as “latitude, longitude” below, or search for a place."
                    </p>
                }
            >
                <div
                    class="map-surface"
                    class:focused=move || focused.get()
                    node_ref=surface
                    tabindex="0"
                    role="application"
                    aria-label="Map of the site. Drag or use the arrow keys to move it, + and − to zoom; click, tap or press Enter to put the flight's centre there (Enter: under the crosshair)."
                    data-testid="map-surface"
                    on:pointerdown=on_down
                    on:pointermove=on_move
                    on:pointerup=move |ev| on_up(ev, false)
                    on:pointercancel=move |ev| on_up(ev, true)
                    on:wheel=on_wheel
                    on:keydown=on_key
                    on:focus=move |_| focused.set(true)
                    on:blur=move |_| focused.set(false)
                >
                    <For each=tiles key=|t| (t.z, t.column, t.y) children=tile_view />
                    <svg class="map-plan" aria-hidden="true">{plan_lines}</svg>
                    <div
                        class="map-marker"
                        title="The flight's centre and take-off point"
                        data-testid="map-marker"
                        style:display=move || if marker.get().is_some() { "block" } else { "none" }
                        style:transform=marker_at
                    ></div>
                    <div class="map-crosshair" aria-hidden="true"></div>
                </div>
                <div class="map-zoom">
                    <button type="button" aria-label="Zoom in" on:click=move |_| view.update(|v| *v = v.zoomed(1, (v.size.0 / 2.0, v.size.1 / 2.0)))>"+"</button>
                    <button type="button" aria-label="Zoom out" on:click=move |_| view.update(|v| *v = v.zoomed(-1, (v.size.0 / 2.0, v.size.1 / 2.0)))>"−"</button>
                </div>
                <p class="map-credit small">{attribution.clone()}</p>
            </Show>
        </div>
    }
    .into_any()
}

/// An address or place search: the pilot types and presses Enter (the public service allows no
/// search-as-you-type), picks one of the places found, and the centre goes there.
#[component]
pub fn PlaceSearch(center: RwSignal<String>) -> impl IntoView {
    let query = RwSignal::new(String::new());
    let search = Action::new(|q: &String| crate::api::map::search_places(q.clone()));
    let picked = RwSignal::new(None::<String>);
    let results = move || {
        let answer = search.value().get()?;
        if search.pending().get() {
            return None;
        }
        Some(match answer {
            Ok(places) if places.is_empty() => view! {
                <p class="muted small" role="status" data-testid="place-none">"No place by that name. Try adding the town or the country."</p>
            }
            .into_any(),
            Ok(places) => view! {
                <ul class="place-results" aria-label="Places found">
                    {places
                        .into_iter()
                        .map(|place| {
                            let name = place.name.clone();
                            view! {
                                <li>
                                    <button
                                        type="button"
                                        class="link"
                                        data-testid="place-result"
                                        on:click=move |_| {
                                            center.set(center_text(place.lat, place.lon));
                                            picked.set(Some(place.name.clone()));
                                            search.value().set(None);
                                        }
                                    >
                                        {name}
                                    </button>
                                </li>
                            }
                        })
                        .collect_view()}
                </ul>
            }
            .into_any(),
            Err(e) => view! {
                <p class="field-error" role="alert" data-testid="place-error">{crate::pages::sentence(&e.to_string())}</p>
            }
            .into_any(),
        })
    };
    view! {
        <form
            class="place-search"
            role="search"
            on:submit=move |ev| {
                ev.prevent_default();
                picked.set(None);
                search.dispatch(query.get_untracked());
            }
        >
            <label for="place-query">"Find an address or a place"</label>
            <div class="row">
                <input
                    id="place-query"
                    type="search"
                    autocomplete="off"
                    maxlength="200"
                    placeholder="Space Needle, Seattle"
                    prop:value=move || query.get()
                    on:input:target=move |ev| query.set(ev.target().value())
                />
                <button type="submit" disabled=move || search.pending().get()>
                    {move || if search.pending().get() { "Searching…" } else { "Search" }}
                </button>
            </div>
            {results}
            {move || picked.get().map(|name| view! {
                <p class="muted small" role="status" data-testid="place-picked">{format!("Centre set to {name}.")}</p>
            })}
        </form>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view_at(lat: f64, lon: f64, zoom: u8) -> View {
        View {
            zoom,
            center: to_px(lat, lon, zoom),
            size: (640.0, 320.0),
        }
    }

    #[test]
    fn zooming_keeps_the_point_under_the_pointer() {
        let v = view_at(47.6205, -122.3493, 15);
        let p = (500.0, 60.0);
        let under = v.at(p);
        for step in [1, -1] {
            let z = v.zoomed(step, p);
            assert_eq!(i16::from(z.zoom), 15 + i16::from(step));
            let still = z.at(p);
            assert!((still.0 - under.0).abs() < 1e-9 && (still.1 - under.1).abs() < 1e-9);
        }
        // The ends of the zoom range hold.
        assert_eq!(view_at(0.0, 0.0, MAX_ZOOM).zoomed(1, p).zoom, MAX_ZOOM);
        assert_eq!(view_at(0.0, 0.0, MIN_ZOOM).zoomed(-1, p).zoom, MIN_ZOOM);
    }

    #[test]
    fn panning_moves_the_map_with_the_pointer_and_wraps_around_the_world() {
        let v = view_at(47.6205, -122.3493, 15);
        let p = (100.0, 100.0);
        let under = v.at(p);
        // Drag right by 40 px: what was under p is now 40 px further right.
        let moved = v.panned((40.0, 0.0));
        let now = moved.at((140.0, 100.0));
        assert!((now.0 - under.0).abs() < 1e-9 && (now.1 - under.1).abs() < 1e-9);
        let west = view_at(0.0, -179.99, 3).panned((200.0, 0.0));
        assert!(west.at((320.0, 160.0)).1 > 0.0, "wrapped to the east");
        assert!(view_at(80.0, 0.0, 2).panned((0.0, 5000.0)).center.1.abs() < 1e-9);
    }
}
