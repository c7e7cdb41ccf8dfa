use crate::api;
use crate::app::Session;
use leptos::prelude::*;
use leptos::task::spawn_local;

#[component]
pub fn LoginPage() -> impl IntoView {
    crate::ui::page_title("Log in");
    let session = expect_context::<Session>();
    let username = RwSignal::new("admin".to_string());
    let password = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let submit = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        spawn_local(async move {
            match api::login(&username.get_untracked(), &password.get_untracked()).await {
                Ok((token, account)) => {
                    api::save_token(Some(&token));
                    api::save_account(Some(&account));
                    api::set_acting_tenant(None);
                    session.1.set(Some(account));
                    session.0.set(Some(token));
                }
                Err(failure) => {
                    error.try_set(Some(failure.0));
                }
            }
        });
    };
    view! {
        <main class="login">
            <h1>"Patchbay"</h1>
            <form on:submit=submit>
                <label>"Username" <input name="username" bind:value=username autocomplete="username"/></label>
                <label>"Password" <input name="password" type="password" bind:value=password autocomplete="current-password"/></label>
                <button type="submit">"Log in"</button>
                <p class="error" role="alert">{move || error.get()}</p>
            </form>
        </main>
    }
}
