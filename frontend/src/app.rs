//! The shell: login gate, navigation and routes. The token lives in a context
//! signal (and in sessionStorage, so a reload keeps the session).

use crate::api;
use crate::pages::{login::LoginPage, trunks::TrunksPage};
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

#[component]
pub fn App() -> impl IntoView {
    let session = Session(RwSignal::new(api::saved_token()));
    provide_context(session);
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
                        <A href="/trunks">"Trunks"</A>
                    </nav>
                    <button class="link" on:click=logout>"Log out"</button>
                </header>
                <main>
                    <Routes fallback=|| view! { <p>"Page not found."</p> }>
                        <Route path=path!("/") view=TrunksPage/>
                        <Route path=path!("/trunks") view=TrunksPage/>
                    </Routes>
                </main>
            </Show>
        </Router>
    }
}
