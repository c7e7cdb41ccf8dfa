//! Patchbay's browser app. All domain answers (validation, matcher, caller ID,
//! simulator) come from `patchbay_shared`, compiled into this wasm module.

mod api;
mod app;
mod pages;

fn main() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(app::App);
}
