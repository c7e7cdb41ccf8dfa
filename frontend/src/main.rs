//! Patchbay's browser app. All domain answers (validation, matcher, caller ID,
//! simulator) come from `patchbay_shared`, compiled into this wasm module.

mod api;
mod app;
mod pages;
mod ui;

fn main() {
    ui::install_panic_banner();
    leptos::mount::mount_to_body(app::App);
}
