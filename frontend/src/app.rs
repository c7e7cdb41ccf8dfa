//! The shell: login gate, navigation and routes. The token lives in a context
//! signal (and in sessionStorage, so a reload keeps the session).

use crate::api;
use crate::pages::routes::{ConfigPage, IncallsPage, OutcallsPage, UsersPage};
use crate::pages::{login::LoginPage, simulator::SimulatorPage, trunks::TrunksPage};
use leptos::prelude::*;
use leptos_router::components::{A, Route, Router, Routes};
use leptos_router::path;

/// The session token; `None` shows the login page.
#[derive(Clone, Copy)]
pub struct Session(pub RwSignal<Option<String>>);

impl Session {
    pub fn token(&self) -> String {
        self.0.get_untracked().unwrap_or_default()
    }
}

/// Bumped after every change a page makes, so views built on the snapshot
/// (the simulator) fetch it again.
#[derive(Clone, Copy)]
pub struct DataVersion(pub RwSignal<u32>);

impl DataVersion {
    pub fn bump(&self) {
        self.0.update(|v| *v += 1);
    }
}

#[component]
pub fn App() -> impl IntoView {
    let session = Session(RwSignal::new(api::saved_token()));
    provide_context(session);
    provide_context(DataVersion(RwSignal::new(0)));
    let logout = move |_| {
        api::save_token(None);
        session.0.set(None);
    };
    view! {
        <Router>
            <Show when=move || session.0.get().is_some() fallback=|| view! { <LoginPage/> }>
                <header class="topbar">
                    <span class="brand">"Patchbay"</span>
                    <nav>
                        <A href="/simulator">"Simulator"</A>
                        <A href="/trunks">"Trunks"</A>
                        <A href="/outcalls">"Outcalls"</A>
                        <A href="/incalls">"Incalls"</A>
                        <A href="/users">"Users"</A>
                        <A href="/config">"Config review"</A>
                    </nav>
                    <button class="link" on:click=logout>"Log out"</button>
                </header>
                <main>
                    <Routes fallback=|| view! { <p>"Page not found."</p> }>
                        <Route path=path!("/") view=TrunksPage/>
                        <Route path=path!("/trunks") view=TrunksPage/>
                        <Route path=path!("/simulator") view=SimulatorPage/>
                        <Route path=path!("/outcalls") view=OutcallsPage/>
                        <Route path=path!("/incalls") view=IncallsPage/>
                        <Route path=path!("/users") view=UsersPage/>
                        <Route path=path!("/config") view=ConfigPage/>
                    </Routes>
                </main>
            </Show>
        </Router>
    }
}
