//! The pages that say what Spaceport is and what it costs. Anyone can open them (public bundle).

use leptos::prelude::*;
use leptos_meta::Title;

use crate::components::footer::contact_email;

#[component]
pub fn About() -> impl IntoView {
    let contact = contact_email();
    view! {
        <Title text="About" />
        <article class="panel prose">
            <h1>"About Spaceport"</h1>
            <p class="lead">
                "Spaceport turns the photos of a drone flight into a 3D model that anyone can open "
                "in a web browser — no app to install, no plug-in, on a phone as on a desktop."
            </p>
            <h2>"How a model is made"</h2>
            <ol>
                <li>
                    <strong>"Flight plan. "</strong>
                    "A spiral around your subject, split per battery, with the ground's height under "
                    "each waypoint; exported for Litchi and DJI."
                </li>
                <li>
                    <strong>"Cameras. "</strong>
                    "COLMAP, the standard open-source Structure-from-Motion tool, finds where each "
                    "photo was taken from; the photos' GPS tags give the model its true scale and which way is up."
                </li>
                <li>
                    <strong>"Training. "</strong>
                    "A 3D Gaussian Splatting model is fitted to your photos, and checked against "
                    "photos it never trained on: that is the quality figure your project shows."
                </li>
                <li>
                    <strong>"Compression. "</strong>
                    "The model is compressed into SOG, an open format that other viewers "
                    "(PlayCanvas, SuperSplat) read too, and streamed to the viewer."
                </li>
            </ol>
            <h2>"Your photos and models"</h2>
            <p>
                "They are yours. Only you see a project until you make a share link, and a link "
                "stops working the moment you revoke it. Deleting a project deletes its photos and "
                "its model."
            </p>
            <h2>"The model on the home page"</h2>
            <p>
                "Made by this pipeline from the 75 photos of the public-domain (CC0) "
                <em>"Caliterra"</em>
                " construction-site survey, flown with a Canon PowerShot SX260 HS."
            </p>
            <h2 id="contact">"Write to us"</h2>
            {if contact.is_empty() {
                leptos::either::Either::Left(view! {
                    <p>"Reply to any mail Spaceport sent you: a person reads it."</p>
                })
            } else {
                leptos::either::Either::Right(view! {
                    <p>
                        "Feedback, questions and bug reports: "
                        <a href=format!("mailto:{contact}")>{contact.clone()}</a>
                        "."
                    </p>
                })
            }}
        </article>
    }
}

#[component]
pub fn Pricing() -> impl IntoView {
    view! {
        <Title text="Pricing" />
        <article class="panel prose">
            <h1>"Pricing"</h1>
            <p class="lead">"Spaceport is an invite-only beta, and free while it is one."</p>
            <h2>"Free during the beta"</h2>
            <ul>
                <li>"Flight plans for every battery, as Litchi CSV and DJI KMZ."</li>
                <li>"Uploads from the browser that resume after a dropped connection."</li>
                <li>"Processing at every quality preset (preview, standard, high), with live progress."</li>
                <li>"The web viewer, share links and embeds, for as many people as you like."</li>
            </ul>
            <h2>"Not yet"</h2>
            <ul>
                <li>"Paid plans. Nothing is charged, and no card is asked for."</li>
                <li>"Teams: one account per person for now."</li>
                <li>"Guaranteed processing times: jobs queue, one per account at a time."</li>
            </ul>
            <p>
                "Before any plan costs money, every account will be told what it costs and what "
                "stays free, well ahead, by mail. Models made during the beta stay yours to view "
                "and share."
            </p>
            <p><a class="button" href="/#waitlist">"Join the waitlist"</a></p>
        </article>
    }
}
