use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::auth::JoinWaitlist;
use crate::components::form::{outcome, FieldError, FormError};

#[component]
pub fn Landing() -> impl IntoView {
    let join = ServerAction::<JoinWaitlist>::new();
    let result = outcome(join);
    let joined = move || matches!(result.get(), Some(Ok(())));
    view! {
        <Title text="Drone flights to 3D models" />
        // Fixed markup as HTML strings: hydration then has nothing to walk inside them, which
        // keeps their code out of the public bundle (every visitor's first load).
        <script type="module" src="/showcase.js"></script>
        <section class="hero" inner_html=HERO></section>
        <section class="steps" aria-label="How it works" inner_html=STEPS></section>
        <section id="waitlist" class="panel narrow">
            <h2>"Spaceport is invite-only for now"</h2>
            <p>"Leave your email and we will invite you as soon as we can."</p>
            <Show
                when=joined
                fallback=move || view! {
                    <ActionForm action=join attr:class="stack" attr:novalidate=true>
                        <label for="wl-email">"Email"</label>
                        <input id="wl-email" name="email" type="email" required autocomplete="email" />
                        <FieldError result field="email" />
                        <label for="wl-note">"What will you fly? " <span class="muted">"(optional)"</span></label>
                        <textarea id="wl-note" name="note" maxlength="500" rows="2"></textarea>
                        <FieldError result field="note" />
                        <FormError result />
                        <button type="submit" disabled=move || join.pending().get()>"Join the waitlist"</button>
                    </ActionForm>
                }
            >
                <p class="notice" role="status">"Thanks — you're on the list. We'll email you when there's room."</p>
            </Show>
        </section>
    }
}

/// The hero: what Spaceport does, beside the showcase model (`<spaceport-showcase>`, driven by
/// `public/showcase.js`): a poster at once, then the real viewer in a frame over it, started once
/// the page has loaded (so the viewer's wasm and the model never delay the page) and shown when
/// it has drawn the model. Without JavaScript the poster links to the model. The model and its
/// poster are in `public/showcase/` (see its README). The links to the viewer's page are
/// `rel="external"`: it is not one of the app's routes, so the router must leave them alone.
const HERO: &str = r##"<div class="hero-text">
<h1>From drone flight to a 3D model anyone can open.</h1>
<p class="lead">Plan a battery-aware orbit, fly it, drop your photos in the browser. Spaceport recovers the cameras, trains a Gaussian-splat model and streams it to any browser — with live progress all the way.</p>
<p class="cta"><a class="button" href="/signin">Sign in</a> <a class="button ghost" href="#waitlist">Join the waitlist</a></p>
</div>
<spaceport-showcase class="showcase">
<a class="showcase-poster" href="/view?url=/showcase/model.sog&amp;up=z" rel="external"><img src="/showcase/poster.jpg" width="960" height="640" alt="A 3D model of a construction site seen from above: new streets, building plots and earthworks"></a>
<iframe data-src="/view?url=/showcase/model.sog&amp;up=z" title="The construction site in 3D: drag to turn it, scroll to zoom"></iframe>
<p class="caption">Made by Spaceport from 75 drone photos of a construction site (public domain). <a href="/view?url=/showcase/model.sog&amp;up=z" rel="external">Open it full screen</a></p>
</spaceport-showcase>"##;

/// The four steps, with the flight-plan picture (`public/showcase/flight-plan.svg`).
const STEPS: &str = r#"<ol>
<li><h2>Plan</h2><p>A spiral mission split per battery, exported for Litchi and DJI.</p><img src="/showcase/flight-plan.svg" width="240" height="240" loading="lazy" alt="A spiral flight plan: two batteries' paths circling the site"></li>
<li><h2>Upload</h2><p>Resumable uploads straight from the browser — a folder or a zip.</p></li>
<li><h2>Process</h2><p>Structure-from-Motion, Gaussian-splat training and compression, with live progress.</p></li>
<li><h2>Share</h2><p>A fast web viewer and a link anyone can open.</p></li>
</ol>"#;
