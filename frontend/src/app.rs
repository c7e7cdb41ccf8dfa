//! The shell: login gate, navigation, tenant switcher and routes. The token
//! and the account live in context signals (and in sessionStorage, so a
//! reload keeps the session).
//!
//! A master admin sees every page and picks the tenant it acts for (sent as
//! `Wazo-Tenant` on every request); a tenant admin sees only its tenant and
//! never the master-only pages (config, Asterisk); its trunks page lists the
//! trunks its routes may use, by name and state.

use crate::api::{self, Account};
use crate::pages::asterisk::AsteriskPage;
use crate::pages::audit::AuditPage;
use crate::pages::incalls::IncallsPage;
use crate::pages::nodes::NodesPage;
use crate::pages::outcalls::OutcallsPage;
use crate::pages::routes::{ConfigPage, OutcallPage};
use crate::pages::usable_trunks::UsableTrunksPage;
use crate::pages::users::UsersPage;
use crate::pages::{login::LoginPage, simulator::SimulatorPage, trunks::TrunksPage};
use leptos::prelude::*;
use leptos::wasm_split::{SplitLoaderError, wasm_split};
use send_wrapper::SendWrapper;
use crate::ui::Show;
use leptos::task::spawn_local;
use leptos_router::components::{A, Route, Router, Routes};
use leptos_router::path;
use serde_json::Value;

/// The session token (`None` shows the login page) and the account.
#[derive(Clone, Copy)]
pub struct Session(pub RwSignal<Option<String>>, pub RwSignal<Option<Account>>);

impl Session {
    pub fn token(&self) -> String {
        self.0.get_untracked().unwrap_or_default()
    }

    /// A master admin (tenant admins never see master-only pages).
    pub fn is_master(&self) -> bool {
        self.1.with(|a| a.as_ref().is_some_and(Account::is_master))
    }
}

/// Bumped after every change a page makes (and on a tenant switch), so views
/// built on the API's data fetch it again.
#[derive(Clone, Copy)]
pub struct DataVersion(pub RwSignal<u32>);

impl DataVersion {
    pub fn bump(&self) {
        self.0.update(|v| *v += 1);
    }
}

#[component]
pub fn App() -> impl IntoView {
    let session = Session(RwSignal::new(api::saved_token()), RwSignal::new(api::saved_account()));
    provide_context(session);
    let version = DataVersion(RwSignal::new(0));
    provide_context(version);
    let logout = move |_| {
        api::save_token(None);
        api::save_account(None);
        api::set_acting_tenant(None);
        session.1.set(None);
        session.0.set(None);
    };
    let master = move || session.is_master();
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
                        <Show when=master><A href="/config">"Config review"</A></Show>
                        <Show when=master><A href="/asterisk">"Asterisk"</A></Show>
                        <Show when=master><A href="/nodes">"Nodes"</A></Show>
                        <A href="/audit">"Audit log"</A>
                    </nav>
                    <ApplyState/>
                    <TenantSwitcher/>
                    <span class="muted account" data-role=move || session.1.get().map(|a| a.role).unwrap_or_default()>
                        {move || session.1.get().map(|a| a.username).unwrap_or_default()}
                    </span>
                    <button class="link" on:click=logout>"Log out"</button>
                </header>
                <main>
                    <Routes fallback=|| view! { <p>"Page not found."</p> }>
                        <Route path=path!("/") view=page(|| view! { <Home/> }.into_any())/>
                        <Route path=path!("/trunks") view=page(|| view! { <Trunks/> }.into_any())/>
                        <Route path=path!("/simulator") view=page(|| lazy_page(simulator_view()))/>
                        <Route path=path!("/outcalls") view=page(|| lazy_page(outcalls_view()))/>
                        <Route path=path!("/outcalls/:id") view=page(|| lazy_page(outcall_view()))/>
                        <Route path=path!("/incalls") view=page(|| lazy_page(incalls_view()))/>
                        <Route path=path!("/users") view=page(|| lazy_page(users_view()))/>
                        <Route path=path!("/config") view=page(|| view! { <MasterOnly>{lazy_page(config_view())}</MasterOnly> }.into_any())/>
                        <Route path=path!("/asterisk") view=page(|| view! { <MasterOnly>{lazy_page(asterisk_view())}</MasterOnly> }.into_any())/>
                        <Route path=path!("/nodes") view=page(|| view! { <MasterOnly>{lazy_page(nodes_view())}</MasterOnly> }.into_any())/>
                        <Route path=path!("/audit") view=page(|| lazy_page(audit_view()))/>
                    </Routes>
                </main>
            </Show>
        </Router>
    }
}

/// Every route's view as one type (a function pointer), so the router
/// compiles its choice of view once instead of once per page.
fn page(view: fn() -> AnyView) -> fn() -> AnyView {
    view
}

/// A page's code, loaded with its group the first time a page of the group
/// is shown. `scripts/build-wasm.sh` cuts the module at the `wasm_split`
/// functions below; the first load carries only the shell, the login page
/// and what every page shares. Until the group arrives the page says it is
/// loading.
///
/// The groups are the pages used together (`trunks`; `routes`: a tenant
/// admin's pages; `platform`; `audit`), not one per page: with a split point
/// per page the code two pages share becomes its own chunk: 13 split points
/// made 213 chunks, 111–155 requests before a first page showed (1.4–1.9 s
/// over a 40 ms link, against 0.7 s now; README, Performance).
///
/// A group that cannot be fetched (the network, or Patchbay updated since
/// this tab loaded: the old build's files are gone) says so and offers a
/// reload, instead of panicking.
fn lazy_page(view: impl Future<Output = Result<AnyView, SplitLoaderError>> + 'static) -> AnyView {
    let view = SendWrapper::new(async move {
        view.await.unwrap_or_else(|_| {
            view! {
                <div class="error load-failed" role="alert">
                    <p>"This page's code could not be loaded: the connection may have dropped, or Patchbay was updated since this tab opened."</p>
                    <button type="button" on:click=|_| { let _ = window().location().reload(); }>"Reload Patchbay"</button>
                </div>
            }
            .into_any()
        })
    });
    view! {
        <Suspense fallback=|| view! { <p class="muted loading" aria-busy="true">"Loading the page…"</p> }>
            {Suspend::new(view)}
        </Suspense>
    }
    .into_any()
}

#[wasm_split(trunks, wasm_split_path = ::leptos::wasm_split, fallible)]
fn master_trunks_view() -> Result<AnyView, SplitLoaderError> {
    Ok(view! { <TrunksPage/> }.into_any())
}

#[wasm_split(trunks, wasm_split_path = ::leptos::wasm_split, fallible)]
fn usable_trunks_view() -> Result<AnyView, SplitLoaderError> {
    Ok(view! { <UsableTrunksPage/> }.into_any())
}

#[wasm_split(routes, wasm_split_path = ::leptos::wasm_split, fallible)]
fn simulator_view() -> Result<AnyView, SplitLoaderError> {
    Ok(view! { <SimulatorPage/> }.into_any())
}

#[wasm_split(routes, wasm_split_path = ::leptos::wasm_split, fallible)]
fn outcalls_view() -> Result<AnyView, SplitLoaderError> {
    Ok(view! { <OutcallsPage/> }.into_any())
}

#[wasm_split(routes, wasm_split_path = ::leptos::wasm_split, fallible)]
fn outcall_view() -> Result<AnyView, SplitLoaderError> {
    Ok(view! { <OutcallPage/> }.into_any())
}

#[wasm_split(routes, wasm_split_path = ::leptos::wasm_split, fallible)]
fn incalls_view() -> Result<AnyView, SplitLoaderError> {
    Ok(view! { <IncallsPage/> }.into_any())
}

#[wasm_split(routes, wasm_split_path = ::leptos::wasm_split, fallible)]
fn users_view() -> Result<AnyView, SplitLoaderError> {
    Ok(view! { <UsersPage/> }.into_any())
}

#[wasm_split(platform, wasm_split_path = ::leptos::wasm_split, fallible)]
fn config_view() -> Result<AnyView, SplitLoaderError> {
    Ok(view! { <ConfigPage/> }.into_any())
}

#[wasm_split(platform, wasm_split_path = ::leptos::wasm_split, fallible)]
fn asterisk_view() -> Result<AnyView, SplitLoaderError> {
    Ok(view! { <AsteriskPage/> }.into_any())
}

#[wasm_split(platform, wasm_split_path = ::leptos::wasm_split, fallible)]
fn nodes_view() -> Result<AnyView, SplitLoaderError> {
    Ok(view! { <NodesPage/> }.into_any())
}

#[wasm_split(audit, wasm_split_path = ::leptos::wasm_split, fallible)]
fn audit_view() -> Result<AnyView, SplitLoaderError> {
    Ok(view! { <AuditPage/> }.into_any())
}

/// Whether the last change saved here is live in Asterisk: "pending" from
/// the save until `/status` says the revision Asterisk holds (read back by
/// Patchbay) has reached the write's `Patchbay-Revision`, then "live in
/// Asterisk"; "not live" when Patchbay checked it and Asterisk did not take
/// all of it (the reasons are on the trunks and Asterisk pages).
#[component]
fn ApplyState() -> impl IntoView {
    let session = expect_context::<Session>();
    let version = expect_context::<DataVersion>();
    // (revision, "pending" | "live" | "not-live")
    let state = RwSignal::new(None::<(u64, &'static str)>);
    Effect::new(move |_| {
        version.0.track();
        let revision = api::last_write_revision();
        if revision == 0 || state.get_untracked().is_some_and(|(shown, _)| shown >= revision) {
            return;
        }
        state.set(Some((revision, "pending")));
        spawn_local(async move {
            // Each request waits up to 10 s for the revision to be checked.
            while api::last_write_revision() == revision {
                let path = format!("/api/patchbay/1.0/status?wait_for={revision}&timeout=10000");
                let Ok(status) = api::get::<Value>(&session.token(), &path).await else { return };
                if status["connected"] != serde_json::json!(true) {
                    // Nothing to wait for (and `wait_for` answers at once).
                    state.try_set(Some((revision, "no-asterisk")));
                    return;
                }
                let live = status["revision_live"].as_u64().is_some_and(|live| live >= revision);
                let checked = status["revision_checked"].as_u64().is_some_and(|checked| checked >= revision);
                if live || checked {
                    state.try_set(Some((revision, if live { "live" } else { "not-live" })));
                    return;
                }
            }
        });
    });
    move || {
        state.get().map(|(_, word)| {
            let (class, text) = match word {
                "live" => ("ok", "live in Asterisk"),
                "not-live" => ("bad", "not live: see the Asterisk status"),
                "no-asterisk" => ("none", "saved; no Asterisk connected"),
                _ => ("pending", "pending"),
            };
            view! { <span class=format!("badge {class} apply-state") data-apply=word title="the last change you saved">{text}</span> }
        })
    }
}

/// The first page: trunks for a master admin, outgoing routes for a tenant
/// admin (each loads only its own group's code).
#[component]
fn Home() -> impl IntoView {
    let session = expect_context::<Session>();
    move || if session.is_master() { lazy_page(master_trunks_view()) } else { lazy_page(outcalls_view()) }
}

/// Trunks: every trunk and its settings for a master admin; for a tenant
/// admin, the trunks its routes may use, by name and state only.
#[component]
fn Trunks() -> impl IntoView {
    let session = expect_context::<Session>();
    move || if session.is_master() { lazy_page(master_trunks_view()) } else { lazy_page(usable_trunks_view()) }
}

/// Renders its children for a master admin only (the API refuses these
/// routes to tenant admins anyway; this keeps the page from asking).
#[component]
fn MasterOnly(children: ChildrenFn) -> impl IntoView {
    let session = expect_context::<Session>();
    move || {
        if session.is_master() {
            children().into_any()
        } else {
            view! { <p class="forbidden" role="alert">"This page is for the platform administrator only."</p> }.into_any()
        }
    }
}

/// Master admin: which tenant to act for (`Wazo-Tenant`). Tenant admin: the
/// name of its tenant, nothing to choose.
#[component]
fn TenantSwitcher() -> impl IntoView {
    let session = expect_context::<Session>();
    let version = expect_context::<DataVersion>();
    let tenants = RwSignal::new(Vec::<Value>::new());
    let acting = RwSignal::new(api::acting_tenant().unwrap_or_default());
    Effect::new(move |_| {
        let Some(token) = session.0.get() else { return };
        spawn_local(async move {
            // Always the full list: asked without Wazo-Tenant.
            if let Ok(list) = api::get_own::<Value>(&token, "/api/auth/0.1/tenants").await {
                tenants.try_set(list["items"].as_array().cloned().unwrap_or_default());
            }
        });
    });
    let name_of = move |uuid: &str| {
        tenants.with(|ts| ts.iter().find(|t| t["uuid"] == uuid).and_then(|t| t["name"].as_str().map(str::to_string)))
    };
    move || {
        let account = session.1.get()?;
        if account.is_master() {
            let own = account.tenant_uuid.clone();
            let own_name = own.clone();
            Some(view! {
                <label class="tenant-switcher">"Tenant "
                    <select name="tenant" prop:value=move || acting.get() on:change=move |ev| {
                        let value = event_target_value(&ev);
                        api::set_acting_tenant((!value.is_empty()).then_some(value.as_str()));
                        acting.set(value);
                        version.bump();
                    }>
                        <option value="">{move || format!("{} (own)", name_of(&own_name).unwrap_or_else(|| "platform".into()))}</option>
                        {move || tenants.get().into_iter().filter(|t| t["uuid"] != own.as_str()).map(|t| {
                            let uuid = t["uuid"].as_str().unwrap_or_default().to_string();
                            let selected = acting.get_untracked() == uuid;
                            view! { <option value=uuid.clone() selected=selected>{t["name"].as_str().unwrap_or_default().to_string()}</option> }
                        }).collect_view()}
                    </select>
                </label>
            }.into_any())
        } else {
            let uuid = account.tenant_uuid.clone();
            let attr = uuid.clone();
            Some(view! { <span class="tenant-name" data-tenant=attr>{move || name_of(&uuid).unwrap_or_default()}</span> }.into_any())
        }
    }
}
