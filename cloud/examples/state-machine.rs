//! Prints the state machine definition: `cargo run -p cloud --example state-machine >
//! deploy/state-machine.asl.json` (a test fails while the committed file differs).

fn main() {
    let text = serde_json::to_string_pretty(&cloud::state_machine::definition())
        .unwrap_or_else(|e| panic!("the definition is JSON: {e}"));
    println!("{text}");
}
